#include "tools/bench/in_flight_table.h"

#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace dbproxy::bench {
namespace {

RequestParams Params(uint32_t user) { return {RequestKind::kUnread, user, 0}; }

TEST(InFlightTable, HandsOutSeqsFromOneUpwards) {
  InFlightTable table;
  EXPECT_EQ(table.Insert(Params(1), Phase::kMeasure, 0), 1);
  EXPECT_EQ(table.Insert(Params(2), Phase::kMeasure, 0), 2);
  EXPECT_EQ(table.Insert(Params(3), Phase::kMeasure, 0), 3);
  EXPECT_EQ(table.live(), 3u);
}

TEST(InFlightTable, MatchesOutOfOrderRepliesToTheirRequests) {
  InFlightTable table;
  std::vector<uint16_t> seqs;
  for (uint32_t user = 100; user < 105; ++user) {
    seqs.push_back(*table.Insert(Params(user), Phase::kWarmup, user * 10));
  }
  for (size_t i : {3u, 0u, 4u, 1u, 2u}) {
    InFlight request;
    ASSERT_EQ(table.Take(seqs[i], &request), InFlightTable::TakeResult::kMatched);
    EXPECT_EQ(request.params.user_id, 100 + i);
    EXPECT_EQ(request.sent_ns, (100 + i) * 10);
    EXPECT_EQ(request.phase, Phase::kWarmup);
    EXPECT_EQ(request.seq, seqs[i]);
  }
  EXPECT_EQ(table.live(), 0u);
}

TEST(InFlightTable, ReportsASeqNothingWasSentWith) {
  InFlightTable table;
  const uint16_t seq = *table.Insert(Params(1), Phase::kMeasure, 0);
  InFlight request;
  EXPECT_EQ(table.Take(static_cast<uint16_t>(seq + 1), &request),
            InFlightTable::TakeResult::kUnknown);
  EXPECT_EQ(table.Take(seq, &request), InFlightTable::TakeResult::kMatched);
  // A duplicate reply finds nothing.
  EXPECT_EQ(table.Take(seq, &request), InFlightTable::TakeResult::kUnknown);
}

TEST(InFlightTable, WrapsFrom65535ToOneAndNeverUsesZero) {
  InFlightTable table;
  InFlight request;
  for (uint32_t i = 1; i <= 65534; ++i) {
    const std::optional<uint16_t> seq = table.Insert(Params(i), Phase::kMeasure, 0);
    ASSERT_EQ(seq, i);
    ASSERT_EQ(table.Take(*seq, &request), InFlightTable::TakeResult::kMatched);
  }
  EXPECT_EQ(table.Insert(Params(0), Phase::kMeasure, 0), 65535);
  EXPECT_EQ(table.Insert(Params(0), Phase::kMeasure, 0), 1);
}

TEST(InFlightTable, SkipsSeqsStillInFlightAfterWrapping) {
  InFlightTable table;
  InFlight request;
  ASSERT_EQ(table.Insert(Params(7), Phase::kMeasure, 0), 1);  // stays in flight
  ASSERT_EQ(table.Insert(Params(8), Phase::kMeasure, 0), 2);  // stays in flight
  for (uint32_t i = 3; i <= 65535; ++i) {
    const std::optional<uint16_t> seq = table.Insert(Params(i), Phase::kMeasure, 0);
    ASSERT_EQ(seq, i);
    ASSERT_EQ(table.Take(*seq, &request), InFlightTable::TakeResult::kMatched);
  }
  EXPECT_EQ(table.Insert(Params(9), Phase::kMeasure, 0), 3);
  ASSERT_EQ(table.Take(1, &request), InFlightTable::TakeResult::kMatched);
  EXPECT_EQ(request.params.user_id, 7u);
}

TEST(InFlightTable, RefusesAnInsertWhenAllSeqsAreTaken) {
  InFlightTable table;
  std::set<uint16_t> seen;
  for (size_t i = 0; i < InFlightTable::kMaxEntries; ++i) {
    const std::optional<uint16_t> seq = table.Insert(Params(1), Phase::kMeasure, 0);
    ASSERT_TRUE(seq.has_value());
    ASSERT_NE(*seq, 0);
    seen.insert(*seq);
  }
  EXPECT_EQ(seen.size(), InFlightTable::kMaxEntries);
  EXPECT_FALSE(table.Insert(Params(1), Phase::kMeasure, 0).has_value());
}

TEST(InFlightTable, ExpiredRequestsBecomeGhostsThatRecogniseLateReplies) {
  InFlightTable table;
  const uint16_t old_seq = *table.Insert(Params(1), Phase::kMeasure, 1000);
  const uint16_t new_seq = *table.Insert(Params(2), Phase::kMeasure, 3000);
  std::vector<InFlight> expired;
  table.Expire(/*now_ns=*/4001, /*timeout_ns=*/3000, &expired);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].seq, old_seq);
  EXPECT_EQ(expired[0].params.user_id, 1u);
  EXPECT_EQ(table.live(), 1u);
  EXPECT_EQ(table.ghosts(), 1u);
  InFlight request;
  EXPECT_EQ(table.Take(old_seq, &request), InFlightTable::TakeResult::kLate);
  EXPECT_EQ(table.ghosts(), 0u);
  EXPECT_EQ(table.Take(new_seq, &request), InFlightTable::TakeResult::kMatched);
}

TEST(InFlightTable, GhostsHoldTheirSeqUntilForgotten) {
  InFlightTable table;
  const uint16_t seq = *table.Insert(Params(1), Phase::kMeasure, 0);
  std::vector<InFlight> expired;
  table.Expire(/*now_ns=*/200, /*timeout_ns=*/100, &expired);
  ASSERT_EQ(expired.size(), 1u);
  // Not expired twice.
  expired.clear();
  table.Expire(/*now_ns=*/250, /*timeout_ns=*/100, &expired);
  EXPECT_TRUE(expired.empty());
  EXPECT_EQ(table.ghosts(), 1u);
  // A full cycle of seqs skips the ghost's.
  InFlight request;
  for (uint32_t i = 0; i < 65534; ++i) {
    const std::optional<uint16_t> next = table.Insert(Params(2), Phase::kMeasure, 250);
    ASSERT_NE(next, seq);
    ASSERT_EQ(table.Take(*next, &request), InFlightTable::TakeResult::kMatched);
  }
  table.Expire(/*now_ns=*/301, /*timeout_ns=*/100, &expired);
  EXPECT_EQ(table.ghosts(), 0u);
  EXPECT_EQ(table.Take(seq, &request), InFlightTable::TakeResult::kUnknown);
}

TEST(InFlightTable, ClearHandsBackOnlyLiveRequests) {
  InFlightTable table;
  (void)table.Insert(Params(1), Phase::kMeasure, 0);    // will be a ghost
  (void)table.Insert(Params(2), Phase::kMeasure, 400);  // live
  std::vector<InFlight> expired;
  table.Expire(/*now_ns=*/600, /*timeout_ns=*/500, &expired);
  std::vector<InFlight> live;
  table.Clear(&live);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].params.user_id, 2u);
  EXPECT_EQ(table.live(), 0u);
  EXPECT_EQ(table.ghosts(), 0u);
}

}  // namespace
}  // namespace dbproxy::bench
