#include "core/loop/event_loop.h"

#include <cstdlib>

#include "core/loop/uv_owner.h"

namespace dbproxy::loop {

EventLoop::EventLoop() : async_(new uv_async_t) {
  uv_loop_init(&loop_);
  async_->data = this;
  uv_async_init(&loop_, async_, &EventLoop::OnAsync);
  loop_thread_ = std::this_thread::get_id();
}

EventLoop::~EventLoop() {
  // Run() closed every handle; a loop that was never run still owns the async handle.
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(async_))) {
    CloseAndDelete(async_);
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
  (void)uv_loop_close(&loop_);
}

void EventLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      return;
    }
    pending_.push_back(std::move(fn));
  }
  uv_async_send(async_);
}

void EventLoop::OnAsync(uv_async_t* async) { static_cast<EventLoop*>(async->data)->Drain(); }

void EventLoop::Drain() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(pending_);
  }
  for (auto& fn : batch) {
    fn();
  }
}

void EventLoop::Run() {
  loop_thread_ = std::this_thread::get_id();
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void EventLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  Drain();  // what was posted before the stop still runs
  CloseAndDelete(async_);
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        // Every other handle is owned by an object that closes it in its own shutdown path;
        // anything still open here is closed so uv_run can return.
        if (!uv_is_closing(h)) {
          uv_close(h, nullptr);
        }
      },
      nullptr);
}

}  // namespace dbproxy::loop
