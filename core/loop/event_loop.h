#pragma once

// Owns the uv_loop_t and the thread that runs it. Post() is the one way other threads
// reach the loop thread (uv_async underneath; posts are coalesced and run in order).

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <uv.h>

namespace dbproxy::loop {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  uv_loop_t* uv() { return &loop_; }

  // Runs fn on the loop thread soon. Any thread. Tasks posted after Run() returned are
  // dropped (destroyed without running).
  void Post(std::function<void()> fn);

  // Runs the loop on the calling thread until Stop(). Returns after every handle closed.
  void Run();
  // Stops the loop: closes the async handle and walks all handles closed. Loop thread.
  void Stop();

  bool InLoopThread() const { return std::this_thread::get_id() == loop_thread_; }

 private:
  static void OnAsync(uv_async_t* async);
  void Drain();

  uv_loop_t loop_;
  uv_async_t* async_;  // owned; closed in Stop()
  std::thread::id loop_thread_;
  std::mutex mu_;
  std::vector<std::function<void()>> pending_;  // guarded by mu_
  bool stopped_ = false;                        // guarded by mu_
};

}  // namespace dbproxy::loop
