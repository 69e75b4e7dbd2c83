#include "plugins/login/login_limiter.h"

#include <string>

#include <gtest/gtest.h>

namespace dbproxy::plugins::login {
namespace {

LoginLimiter::Limits Limits(uint32_t failures, int64_t window, size_t names) {
  LoginLimiter::Limits l;
  l.max_failures = failures;
  l.window_seconds = window;
  l.max_names = names;
  return l;
}

TEST(LoginLimiter, BlocksOnlyAfterMoreThanMaxFailures) {
  LoginLimiter limiter(Limits(10, 1800, 100));
  for (int i = 0; i < 10; ++i) {
    limiter.RecordFailure("alice", 1000 + i);
  }
  EXPECT_FALSE(limiter.Blocked("alice", 1010));
  limiter.RecordFailure("alice", 1010);
  EXPECT_TRUE(limiter.Blocked("alice", 1011));
  EXPECT_FALSE(limiter.Blocked("bob", 1011));
}

TEST(LoginLimiter, FailuresOlderThanTheWindowStopCounting) {
  LoginLimiter limiter(Limits(2, 100, 100));
  limiter.RecordFailure("alice", 0);
  limiter.RecordFailure("alice", 50);
  limiter.RecordFailure("alice", 60);
  EXPECT_TRUE(limiter.Blocked("alice", 100));   // 0 is exactly window old: still counts
  EXPECT_FALSE(limiter.Blocked("alice", 101));  // 0 left the window
  EXPECT_EQ(1u, limiter.size());
  EXPECT_FALSE(limiter.Blocked("alice", 161));  // all left: the name is forgotten
  EXPECT_EQ(0u, limiter.size());
}

TEST(LoginLimiter, ClearForgetsTheName) {
  LoginLimiter limiter(Limits(1, 100, 100));
  limiter.RecordFailure("alice", 1);
  limiter.RecordFailure("alice", 2);
  ASSERT_TRUE(limiter.Blocked("alice", 3));
  limiter.Clear("alice");
  EXPECT_FALSE(limiter.Blocked("alice", 3));
  EXPECT_EQ(0u, limiter.size());
}

TEST(LoginLimiter, NeverRemembersMoreThanMaxNames) {
  LoginLimiter limiter(Limits(1, 1000, 3));
  for (int i = 0; i < 1000; ++i) {
    limiter.RecordFailure("name" + std::to_string(i), 10);
  }
  EXPECT_EQ(3u, limiter.size());
}

TEST(LoginLimiter, EvictsTheLeastRecentlyFailedNameWhenFull) {
  LoginLimiter limiter(Limits(1, 1000, 2));
  limiter.RecordFailure("a", 1);
  limiter.RecordFailure("a", 2);
  limiter.RecordFailure("b", 3);
  limiter.RecordFailure("b", 4);
  limiter.RecordFailure("a", 5);  // a is now the most recent
  limiter.RecordFailure("c", 6);  // evicts b
  EXPECT_TRUE(limiter.Blocked("a", 7));
  EXPECT_FALSE(limiter.Blocked("b", 7));
  EXPECT_EQ(2u, limiter.size());
}

TEST(LoginLimiter, EvictsExpiredNamesBeforeLiveOnes) {
  LoginLimiter limiter(Limits(1, 10, 2));
  limiter.RecordFailure("old", 1);
  limiter.RecordFailure("live", 95);
  limiter.RecordFailure("live", 96);
  limiter.RecordFailure("new", 100);  // "old" expired at 11: it goes, "live" stays
  EXPECT_TRUE(limiter.Blocked("live", 100));
  EXPECT_EQ(2u, limiter.size());
}

TEST(LoginLimiter, KeepsAtMostOneMoreTimestampThanTheLimit) {
  // 1000 failures inside the window must not make a name cost 1000 timestamps; it stays
  // blocked as long as the newest max_failures + 1 are inside the window.
  LoginLimiter limiter(Limits(2, 100, 10));
  for (int i = 0; i < 1000; ++i) {
    limiter.RecordFailure("alice", 0);
  }
  limiter.RecordFailure("alice", 50);
  limiter.RecordFailure("alice", 60);
  EXPECT_TRUE(limiter.Blocked("alice", 100));
  EXPECT_FALSE(limiter.Blocked("alice", 101));  // only 50 and 60 remain: not more than 2
}

}  // namespace
}  // namespace dbproxy::plugins::login
