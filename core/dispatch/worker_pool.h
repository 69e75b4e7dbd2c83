#pragma once

// Worker threads fed by one bounded FIFO queue, with per-key ordering ("strands"): tasks
// submitted with the same non-zero order key run one at a time, in submission order, while
// tasks with other keys run in parallel. Any thread may Submit.
//
// The bound is enforced by the caller: Full() turns true at queue_limit and the server
// stops reading sockets; when the depth falls to half the limit, on_space() is called
// (from a worker thread) so reading can resume.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace dbproxy::dispatch {

class WorkerPool {
 public:
  using Task = std::function<void()>;

  WorkerPool(size_t threads, size_t queue_limit, std::function<void()> on_space);
  ~WorkerPool();  // Stop()s
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Start();
  // Runs every queued task, then joins the threads. Idempotent.
  void Stop();

  void Submit(Task task, uint64_t order_key = 0);

  size_t depth() const;    // waiting to run (queued + held back by a strand)
  size_t running() const;  // running right now
  bool Full() const { return depth() >= queue_limit_; }
  size_t queue_limit() const { return queue_limit_; }
  // Waits until nothing is queued or running, or until the deadline. True if idle.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  struct Item {
    Task task;
    uint64_t key;
  };
  void WorkerMain();
  void FinishedLocked(uint64_t key);  // REQUIRES(mu_)

  const size_t threads_;
  const size_t queue_limit_;
  std::function<void()> on_space_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // a task was queued or stop was asked
  std::condition_variable idle_cv_;  // a task finished
  std::deque<Item> queue_;           // guarded by mu_
  // Keys with a task running or queued; value = tasks held back behind it. guarded by mu_
  std::unordered_map<uint64_t, std::deque<Task>> strands_;
  size_t held_ = 0;             // tasks inside strands_ deques; guarded by mu_
  size_t running_ = 0;          // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  bool reported_full_ = false;  // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace dbproxy::dispatch
