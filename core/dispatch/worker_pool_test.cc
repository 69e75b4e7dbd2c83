#include "core/dispatch/worker_pool.h"

#include <atomic>
#include <mutex>
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

}  // namespace
}  // namespace dbproxy::dispatch
