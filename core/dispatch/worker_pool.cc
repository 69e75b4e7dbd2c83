#include "core/dispatch/worker_pool.h"

#include <algorithm>

namespace dbproxy::dispatch {
namespace {

// How many queued items a worker looks through for members of its batch. Bounded so a long
// queue of other work does not turn every batch pick into a scan of the whole queue.
constexpr size_t kBatchScanLimit = 1024;

}  // namespace

WorkerPool::WorkerPool(size_t threads, size_t queue_limit, std::function<void()> on_space,
                       BatchRunner batch_runner)
    : threads_(threads),
      queue_limit_(queue_limit),
      on_space_(std::move(on_space)),
      batch_runner_(std::move(batch_runner)) {}

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
  Item item;
  item.task = std::move(task);
  item.key = order_key;
  Enqueue(std::move(item));
}

void WorkerPool::SubmitBatchable(const void* group, void* payload, BatchLimits limits,
                                 uint64_t order_key) {
  Item item;
  item.key = order_key;
  item.group = group;
  item.payload = payload;
  item.limits = limits;
  item.limits.max_batch = std::max<size_t>(1, limits.max_batch);
  Enqueue(std::move(item));
}

size_t WorkerPool::FindRunnableLocked() const {
  const size_t scan = std::min(queue_.size(), kBatchScanLimit);
  for (size_t i = 0; i < scan; ++i) {
    const Item& item = queue_[i];
    if (item.group == nullptr || item.limits.max_running == 0) {
      return i;
    }
    auto it = running_batches_.find(item.group);
    if (it == running_batches_.end() || it->second < item.limits.max_running) {
      return i;
    }
  }
  return queue_.size();
}

void WorkerPool::Enqueue(Item item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (item.key != 0) {
      auto [it, inserted] = strands_.try_emplace(item.key);
      if (!inserted) {
        // Another task of this key is queued or running: wait behind it.
        it->second.push_back(std::move(item));
        ++held_;
        if (queue_.size() + held_ >= queue_limit_) {
          reported_full_ = true;
        }
        return;
      }
    }
    queue_.push_back(std::move(item));
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
  queue_.push_front(std::move(it->second.front()));
  it->second.pop_front();
  --held_;
  work_cv_.notify_one();
}

void WorkerPool::TakeHeldLocked(uint64_t key, const void* group, size_t max_batch,
                                std::vector<void*>* batch) {
  if (key == 0) {
    return;
  }
  auto it = strands_.find(key);
  if (it == strands_.end()) {
    return;
  }
  std::deque<Item>& held = it->second;
  // Stops at the first item of another kind: it must run before the ones behind it.
  while (!held.empty() && batch->size() < max_batch && held.front().group == group) {
    batch->push_back(held.front().payload);
    held.pop_front();
    --held_;
  }
}

void WorkerPool::TakeBatchLocked(Item first, std::vector<void*>* batch,
                                 std::vector<uint64_t>* keys) {
  const void* group = first.group;
  const size_t max_batch = first.limits.max_batch;
  batch->push_back(first.payload);
  keys->push_back(first.key);
  TakeHeldLocked(first.key, group, max_batch, batch);

  // Strand heads of the same group further down the queue (each key has at most one item
  // in queue_, the rest wait in its strand).
  const size_t scan = std::min(queue_.size(), kBatchScanLimit);
  size_t kept = 0;
  for (size_t i = 0; i < scan; ++i) {
    Item& item = queue_[i];
    if (batch->size() < max_batch && item.group == group) {
      batch->push_back(item.payload);
      keys->push_back(item.key);
      TakeHeldLocked(item.key, group, max_batch, batch);
      continue;
    }
    if (kept != i) {
      queue_[kept] = std::move(item);
    }
    ++kept;
  }
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(kept),
               queue_.begin() + static_cast<std::ptrdiff_t>(scan));
}

void WorkerPool::WorkerMain() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const size_t index = FindRunnableLocked();
    if (index == queue_.size()) {
      // Nothing may start now: the queue is empty, or holds only batch items whose group
      // is at its cap (a finishing batch notifies).
      if (stopping_ && queue_.empty() && held_ == 0 && running_ == 0) {
        return;
      }
      if (stopping_) {
        work_cv_.wait_for(lock, std::chrono::milliseconds(10));
      } else {
        work_cv_.wait(lock);
      }
      continue;
    }
    Item item = std::move(queue_[index]);
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(index));
    ++running_;
    if (item.group != nullptr) {
      std::vector<void*> batch;
      std::vector<uint64_t> keys;
      const void* group = item.group;
      ++running_batches_[group];
      TakeBatchLocked(std::move(item), &batch, &keys);
      lock.unlock();
      batch_runner_(group, batch);
      lock.lock();
      --running_;
      auto running = running_batches_.find(group);
      if (--running->second == 0) {
        running_batches_.erase(running);
      }
      for (uint64_t key : keys) {
        FinishedLocked(key);
      }
      work_cv_.notify_one();  // the group may start another batch
    } else {
      lock.unlock();
      item.task();
      item.task = nullptr;  // destroy captured state outside the lock
      lock.lock();
      --running_;
      FinishedLocked(item.key);
    }
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
