#include "core/dispatch/worker_pool.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace dbproxy::dispatch {
namespace {

TEST(WorkerPool, RunsEveryTaskBeforeStopReturns) {
  std::atomic<int> ran{0};
  WorkerPool pool(4, 1000, nullptr);
  pool.Start();
  for (int i = 0; i < 500; ++i) {
    pool.Submit([&] { ran.fetch_add(1); });
  }
  pool.Stop();
  EXPECT_EQ(500, ran.load());
}

TEST(WorkerPool, SameKeyRunsInSubmissionOrderAndNeverConcurrently) {
  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> active{0};
  std::atomic<bool> overlap{false};
  WorkerPool pool(8, 10000, nullptr);
  pool.Start();
  for (int i = 0; i < 300; ++i) {
    pool.Submit(
        [&, i] {
          if (active.fetch_add(1) != 0) {
            overlap = true;
          }
          {
            std::lock_guard<std::mutex> lock(mu);
            order.push_back(i);
          }
          active.fetch_sub(1);
        },
        42);
  }
  pool.Stop();
  EXPECT_FALSE(overlap.load());
  ASSERT_EQ(300u, order.size());
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(i, order[i]);
  }
}

TEST(WorkerPool, DifferentKeysRunInParallel) {
  std::atomic<int> active{0};
  std::atomic<int> peak{0};
  std::atomic<bool> release{false};
  WorkerPool pool(4, 100, nullptr);
  pool.Start();
  for (uint64_t k = 1; k <= 4; ++k) {
    pool.Submit(
        [&] {
          int now = active.fetch_add(1) + 1;
          int p = peak.load();
          while (now > p && !peak.compare_exchange_weak(p, now)) {
          }
          while (!release.load() && peak.load() < 4) {
            std::this_thread::yield();
          }
          active.fetch_sub(1);
        },
        k);
  }
  EXPECT_TRUE(pool.WaitIdle(std::chrono::seconds(10)));
  release = true;
  pool.Stop();
  EXPECT_EQ(4, peak.load());
}

TEST(WorkerPool, ReportsFullAndCallsOnSpaceWhenDrained) {
  std::atomic<bool> gate{false};
  std::atomic<int> space_calls{0};
  WorkerPool pool(1, 4, [&] { space_calls.fetch_add(1); });
  pool.Start();
  pool.Submit([&] {
    while (!gate.load()) {
      std::this_thread::yield();
    }
  });
  // The blocker runs; four more fill the queue to its limit.
  while (pool.running() == 0) {
    std::this_thread::yield();
  }
  for (int i = 0; i < 4; ++i) {
    pool.Submit([] {});
  }
  EXPECT_TRUE(pool.Full());
  gate = true;
  EXPECT_TRUE(pool.WaitIdle(std::chrono::seconds(10)));
  EXPECT_FALSE(pool.Full());
  EXPECT_GE(space_calls.load(), 1);
  pool.Stop();
}

// ---- Batches

// Payloads are ints (their submission index); batches are recorded as they run.
struct BatchLog {
  std::mutex mu;
  std::vector<std::vector<intptr_t>> batches;
  std::vector<const void*> groups;
};

WorkerPool::BatchRunner Recorder(BatchLog* log, std::atomic<bool>* gate = nullptr) {
  return [log, gate](const void* group, std::vector<void*>& payloads) {
    while (gate != nullptr && !gate->load()) {
      std::this_thread::yield();
    }
    std::vector<intptr_t> batch;
    for (void* p : payloads) {
      batch.push_back(reinterpret_cast<intptr_t>(p));
    }
    std::lock_guard<std::mutex> lock(log->mu);
    log->batches.push_back(std::move(batch));
    log->groups.push_back(group);
  };
}

void* Payload(intptr_t i) { return reinterpret_cast<void*>(i); }

TEST(WorkerPoolBatch, QueuedItemsOfOneGroupRunTogetherUpToMaxBatch) {
  BatchLog log;
  std::atomic<bool> gate{false};
  int group = 0;
  WorkerPool pool(1, 1000, nullptr, Recorder(&log, &gate));
  pool.Start();
  // The single worker is held in the first batch while 20 more items queue up.
  pool.SubmitBatchable(&group, Payload(0), {8}, 0);
  while (pool.running() == 0) {
    std::this_thread::yield();
  }
  for (intptr_t i = 1; i <= 20; ++i) {
    pool.SubmitBatchable(&group, Payload(i), {8}, static_cast<uint64_t>(i));
  }
  gate = true;
  pool.Stop();
  ASSERT_EQ(4u, log.batches.size());
  EXPECT_EQ((std::vector<intptr_t>{0}), log.batches[0]);
  EXPECT_EQ((std::vector<intptr_t>{1, 2, 3, 4, 5, 6, 7, 8}), log.batches[1]);
  EXPECT_EQ((std::vector<intptr_t>{9, 10, 11, 12, 13, 14, 15, 16}), log.batches[2]);
  EXPECT_EQ((std::vector<intptr_t>{17, 18, 19, 20}), log.batches[3]);
}

TEST(WorkerPoolBatch, StrandItemsJoinTheBatchInOrderAndGroupsNeverMix) {
  BatchLog log;
  std::atomic<bool> gate{false};
  int group_a = 0;
  int group_b = 0;
  std::atomic<int> plain_ran{0};
  WorkerPool pool(1, 1000, nullptr, Recorder(&log, &gate));
  pool.Start();
  pool.SubmitBatchable(&group_a, Payload(100), {64}, 0);  // occupies the worker
  while (pool.running() == 0) {
    std::this_thread::yield();
  }
  // Key 7: a1 a2 a3 of group A, then a plain task, then a4; key 9: b1 of group B.
  pool.SubmitBatchable(&group_a, Payload(1), {64}, 7);
  pool.SubmitBatchable(&group_a, Payload(2), {64}, 7);
  pool.SubmitBatchable(&group_b, Payload(50), {64}, 9);
  pool.SubmitBatchable(&group_a, Payload(3), {64}, 7);
  pool.Submit([&] { plain_ran.fetch_add(1); }, 7);
  pool.SubmitBatchable(&group_a, Payload(4), {64}, 7);
  pool.SubmitBatchable(&group_a, Payload(5), {64}, 0);
  gate = true;
  pool.Stop();
  EXPECT_EQ(1, plain_ran.load());
  ASSERT_EQ(4u, log.batches.size());
  EXPECT_EQ((std::vector<intptr_t>{100}), log.batches[0]);
  // Key 7's held items follow its head up to the plain task; the unkeyed A item joins.
  EXPECT_EQ((std::vector<intptr_t>{1, 2, 3, 5}), log.batches[1]);
  EXPECT_EQ(&group_a, log.groups[1]);
  // A strand's next item goes to the front when its turn comes: the plain task, then a4,
  // run before b1 that waited in the queue.
  EXPECT_EQ((std::vector<intptr_t>{4}), log.batches[2]);
  EXPECT_EQ((std::vector<intptr_t>{50}), log.batches[3]);
  EXPECT_EQ(&group_b, log.groups[3]);
}

TEST(WorkerPoolBatch, AKeyNeverRunsInTwoBatchesAtOnce) {
  std::atomic<int> active_per_key[4] = {};
  std::atomic<bool> overlap{false};
  std::mutex mu;
  std::vector<intptr_t> order[4];
  int group = 0;
  WorkerPool pool(8, 100000, nullptr, [&](const void*, std::vector<void*>& payloads) {
    bool seen[4] = {};
    for (void* p : payloads) {
      const auto v = reinterpret_cast<intptr_t>(p);
      const int key = static_cast<int>(v % 4);
      if (!seen[key]) {
        seen[key] = true;
        if (active_per_key[key].fetch_add(1) != 0) {
          overlap = true;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      order[key].push_back(v);
    }
    std::this_thread::yield();
    for (int k = 0; k < 4; ++k) {
      if (seen[k]) {
        active_per_key[k].fetch_sub(1);
      }
    }
  });
  pool.Start();
  for (intptr_t i = 0; i < 4000; ++i) {
    pool.SubmitBatchable(&group, Payload(i), {16}, static_cast<uint64_t>(i % 4) + 1);
  }
  pool.Stop();
  EXPECT_FALSE(overlap.load());
  for (int k = 0; k < 4; ++k) {
    ASSERT_EQ(1000u, order[k].size());
    for (size_t i = 1; i < order[k].size(); ++i) {
      EXPECT_LT(order[k][i - 1], order[k][i]);
    }
  }
}

TEST(WorkerPoolBatch, MaxRunningCapsABatchGroupWhileOtherWorkPassesIt) {
  BatchLog log;
  std::atomic<bool> gate{false};
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  std::atomic<bool> plain_ran{false};
  int group = 0;
  WorkerPool pool(4, 1000, nullptr, [&](const void* g, std::vector<void*>& payloads) {
    const int now = running.fetch_add(1) + 1;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    Recorder(&log, &gate)(g, payloads);
    running.fetch_sub(1);
  });
  pool.Start();
  const WorkerPool::BatchLimits limits{4, 1};
  pool.SubmitBatchable(&group, Payload(0), limits, 1);
  while (pool.running() == 0) {
    std::this_thread::yield();
  }
  for (intptr_t i = 1; i <= 9; ++i) {
    pool.SubmitBatchable(&group, Payload(i), limits, static_cast<uint64_t>(i) + 1);
  }
  // Three idle workers; the group is at its cap, so the plain task behind its items runs.
  pool.Submit([&] { plain_ran = true; });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!plain_ran.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_TRUE(plain_ran.load());
  EXPECT_EQ(1, running.load());
  gate = true;
  pool.Stop();
  EXPECT_EQ(1, peak.load());
  ASSERT_EQ(4u, log.batches.size());
  EXPECT_EQ((std::vector<intptr_t>{0}), log.batches[0]);
  EXPECT_EQ((std::vector<intptr_t>{1, 2, 3, 4}), log.batches[1]);
  EXPECT_EQ((std::vector<intptr_t>{5, 6, 7, 8}), log.batches[2]);
  EXPECT_EQ((std::vector<intptr_t>{9}), log.batches[3]);
}

}  // namespace
}  // namespace dbproxy::dispatch
