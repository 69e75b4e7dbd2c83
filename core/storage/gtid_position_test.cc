#include "core/storage/gtid_position.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace dbproxy::storage {
namespace {

TEST(GtidPositionTest, ParsesDomainServerSeq) {
  Result<Gtid> gtid = ParseGtid("3-17-123456789012");
  ASSERT_TRUE(gtid.ok());
  EXPECT_EQ(gtid->domain, 3u);
  EXPECT_EQ(gtid->server, 17u);
  EXPECT_EQ(gtid->seq, 123456789012u);
  for (const char* bad : {"", "1-2", "1-2-", "a-1-2", "1-2-3-4", "1--3", "-1-2-3"}) {
    EXPECT_FALSE(ParseGtid(bad).ok()) << bad;
  }
}

TEST(GtidPositionTest, KeepsTheHighestSeqPerDomain) {
  GtidPosition position;
  EXPECT_EQ(position.version(), 0u);
  EXPECT_EQ(position.Get().text, "");
  ASSERT_TRUE(position.Merge("0-1-5").ok());
  ASSERT_TRUE(position.Merge("0-1-3").ok());  // older: no change, no new version
  EXPECT_EQ(position.version(), 1u);
  ASSERT_TRUE(position.Merge("2-1-7,0-2-9").ok());  // a new domain and a newer seq (failover)
  GtidPosition::Snapshot snapshot = position.Get();
  EXPECT_EQ(snapshot.text, "0-2-9,2-1-7");
  EXPECT_EQ(snapshot.version, 2u);
  ASSERT_TRUE(position.Merge("").ok());
  EXPECT_EQ(position.version(), 2u);
}

TEST(GtidPositionTest, BadListMergesNothing) {
  GtidPosition position;
  EXPECT_FALSE(position.Merge("0-1-5,junk").ok());
  EXPECT_EQ(position.Get().text, "");
  EXPECT_EQ(position.version(), 0u);
}

TEST(GtidPositionTest, ConcurrentMergesEndAtTheMaximum) {
  GtidPosition position;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&position, t] {
      for (int i = 1; i <= 1000; ++i) {
        ASSERT_TRUE(position.Merge("0-1-" + std::to_string(i * 4 + t)).ok());
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(position.Get().text, "0-1-4003");
}

}  // namespace
}  // namespace dbproxy::storage
