#include "core/dispatch/worker_pool.h"

namespace dbproxy::dispatch {

WorkerPool::WorkerPool(size_t threads, size_t queue_limit, std::function<void()> on_space)
    : threads_(threads), queue_limit_(queue_limit), on_space_(std::move(on_space)) {}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start() {
  for (size_t i = 0; i < threads_; ++i) {
    workers_.emplace_back([this] { WorkerMain(); });
  }
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) {
    t.join();
  }
  workers_.clear();
}

void WorkerPool::Submit(Task task, uint64_t order_key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (order_key != 0) {
      auto [it, inserted] = strands_.try_emplace(order_key);
      if (!inserted) {
        // Another task of this key is queued or running: wait behind it.
        it->second.push_back(std::move(task));
        ++held_;
        if (queue_.size() + held_ >= queue_limit_) {
          reported_full_ = true;
        }
        return;
      }
    }
    queue_.push_back(Item{std::move(task), order_key});
    if (queue_.size() + held_ >= queue_limit_) {
      reported_full_ = true;
    }
  }
  work_cv_.notify_one();
}

size_t WorkerPool::depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + held_;
}

size_t WorkerPool::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

bool WorkerPool::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_cv_.wait_for(lock, timeout,
                           [this] { return queue_.empty() && held_ == 0 && running_ == 0; });
}

void WorkerPool::FinishedLocked(uint64_t key) {
  if (key == 0) {
    return;
  }
  auto it = strands_.find(key);
  if (it == strands_.end()) {
    return;
  }
  if (it->second.empty()) {
    strands_.erase(it);
    return;
  }
  // The next task of this strand goes to the front: it already waited its turn.
  queue_.push_front(Item{std::move(it->second.front()), key});
  it->second.pop_front();
  --held_;
  work_cv_.notify_one();
}

void WorkerPool::WorkerMain() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stopping_ && held_ == 0 && running_ == 0) {
        return;
      }
      if (stopping_) {
        work_cv_.wait_for(lock, std::chrono::milliseconds(10));
        continue;
      }
      continue;
    }
    Item item = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    item.task();
    item.task = nullptr;  // destroy captured state outside the lock
    lock.lock();
    --running_;
    FinishedLocked(item.key);
    bool notify_space = false;
    if (reported_full_ && queue_.size() + held_ <= queue_limit_ / 2) {
      reported_full_ = false;
      notify_space = true;
    }
    idle_cv_.notify_all();
    if (notify_space && on_space_) {
      lock.unlock();
      on_space_();
      lock.lock();
    }
  }
}

}  // namespace dbproxy::dispatch
