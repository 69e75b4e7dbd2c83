#pragma once

// Worker threads fed by one bounded FIFO queue, with per-key ordering ("strands"): tasks
// submitted with the same non-zero order key run one at a time, in submission order, while
// tasks with other keys run in parallel. Any thread may Submit.
//
// The bound is enforced by the caller: Full() turns true at queue_limit and the server
// stops reading sockets; when the depth falls to half the limit, on_space() is called
// (from a worker thread) so reading can resume.
//
// Batching: items submitted with SubmitBatchable carry a group (an opaque pointer) and a
// payload. A worker that takes such an item also takes the other items of the same group
// that are ready at that moment -- the front-of-queue items, and behind each of them the
// items its strand holds back, as long as they are of that group -- up to max_batch, and
// hands all payloads to the batch runner in one call. Within a batch, the items of one key
// keep their submission order, and a key's next item starts only after the batch ends, so
// the strand guarantee holds for batches as for single tasks. A batch is how a storage
// writer turns many queued requests into one transaction (one commit, one fsync).
// A group may also cap how many of its batches run at once (max_running): its items then
// wait in the queue -- other work passes them -- and the next batch is the larger for it,
// which is what group commit wants from a database with a few cores.

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
  // Runs one batch: every payload of the batch, in an order that keeps each key's
  // submission order. Called on a worker thread, without the pool's lock.
  using BatchRunner = std::function<void(const void* group, std::vector<void*>& payloads)>;

  // batch_runner runs every SubmitBatchable item; may be empty if nothing is batchable.
  WorkerPool(size_t threads, size_t queue_limit, std::function<void()> on_space,
             BatchRunner batch_runner = nullptr);
  ~WorkerPool();  // Stop()s
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Start();
  // Runs every queued task, then joins the threads. Idempotent.
  void Stop();

  void Submit(Task task, uint64_t order_key = 0);
  struct BatchLimits {
    size_t max_batch = 1;    // payloads per batch, >= 1
    size_t max_running = 0;  // batches of the group running at once; 0 = no cap
  };
  // Queues payload for the batch runner, to be run together with other ready payloads of
  // the same group within limits (every item of a group must carry the same limits).
  // group must not be null; payload is passed through untouched (the runner owns what it
  // points at).
  void SubmitBatchable(const void* group, void* payload, BatchLimits limits, uint64_t order_key);

  size_t depth() const;    // waiting to run (queued + held back by a strand)
  size_t running() const;  // running right now
  bool Full() const { return depth() >= queue_limit_; }
  size_t queue_limit() const { return queue_limit_; }
  // Waits until nothing is queued or running, or until the deadline. True if idle.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  struct Item {
    Task task;  // empty for a batchable item
    uint64_t key = 0;
    const void* group = nullptr;  // non-null: batchable
    void* payload = nullptr;
    BatchLimits limits;
  };
  void Enqueue(Item item);
  // The index in queue_ of the first item a worker may start now (batch groups at their
  // max_running are passed over); queue_.size() if there is none. REQUIRES(mu_)
  size_t FindRunnableLocked() const;
  void WorkerMain();
  // Moves the ready items of first's group out of the queue and out of their strands into
  // batch (first included); keys gets each key of the batch once. REQUIRES(mu_)
  void TakeBatchLocked(Item first, std::vector<void*>* batch, std::vector<uint64_t>* keys);
  // Takes the items key's strand holds back while they belong to group. REQUIRES(mu_)
  void TakeHeldLocked(uint64_t key, const void* group, size_t max_batch, std::vector<void*>* batch);
  void FinishedLocked(uint64_t key);  // REQUIRES(mu_)

  const size_t threads_;
  const size_t queue_limit_;
  std::function<void()> on_space_;
  BatchRunner batch_runner_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // a task was queued or stop was asked
  std::condition_variable idle_cv_;  // a task finished
  std::deque<Item> queue_;           // guarded by mu_
  // Keys with a task running or queued; value = tasks held back behind it. guarded by mu_
  std::unordered_map<uint64_t, std::deque<Item>> strands_;
  size_t held_ = 0;     // tasks inside strands_ deques; guarded by mu_
  size_t running_ = 0;  // guarded by mu_
  // Batches running per group, for BatchLimits::max_running. guarded by mu_
  std::unordered_map<const void*, size_t> running_batches_;
  bool stopping_ = false;       // guarded by mu_
  bool reported_full_ = false;  // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace dbproxy::dispatch
