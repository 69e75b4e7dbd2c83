#include "tools/bench/scenario.h"

#include <map>
#include <set>
#include <utility>

#include <gtest/gtest.h>

namespace dbproxy::bench {
namespace {

BenchOptions OptionsFor(ScenarioId id) {
  BenchOptions options;
  options.scenario = id;
  return options;
}

std::unique_ptr<Scenario> MustCreate(const BenchOptions& options) {
  std::string error;
  std::unique_ptr<Scenario> scenario = Scenario::Create(options, &error);
  EXPECT_NE(scenario, nullptr) << error;
  return scenario;
}

std::string CreateError(const BenchOptions& options) {
  std::string error;
  EXPECT_EQ(Scenario::Create(options, &error), nullptr);
  return error;
}

std::pair<uint32_t, uint32_t> Unordered(uint32_t a, uint32_t b) {
  return {std::min(a, b), std::max(a, b)};
}

TEST(DistinctPairs, CoverEveryPairOnceForAnOddNumberOfUsers) {
  constexpr uint32_t kUsers = 7;
  ASSERT_EQ(DistinctPairCount(kUsers), 21u);  // all 7*6/2
  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (uint64_t k = 0; k < DistinctPairCount(kUsers); ++k) {
    const PairIndex pair = NthDistinctPair(kUsers, k);
    ASSERT_LT(pair.a, kUsers);
    ASSERT_LT(pair.b, kUsers);
    ASSERT_NE(pair.a, pair.b);
    ASSERT_TRUE(seen.insert(Unordered(pair.a, pair.b)).second) << "pair " << k << " repeats";
  }
}

TEST(DistinctPairs, NeverRepeatForAnEvenNumberOfUsers) {
  constexpr uint32_t kUsers = 800;
  ASSERT_EQ(DistinctPairCount(kUsers), 319'200u);
  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (uint64_t k = 0; k < DistinctPairCount(kUsers); ++k) {
    const PairIndex pair = NthDistinctPair(kUsers, k);
    ASSERT_NE(pair.a, pair.b);
    ASSERT_TRUE(seen.insert(Unordered(pair.a, pair.b)).second) << "pair " << k << " repeats";
  }
}

TEST(Scenario, SendNewUsesEachPairOnceThenStops) {
  BenchOptions options = OptionsFor(ScenarioId::kSendNew);
  options.users = UserRange{11, 15};
  std::unique_ptr<Scenario> scenario = MustCreate(options);
  std::mt19937_64 rng(1);
  std::set<std::pair<uint32_t, uint32_t>> seen;
  RequestParams params;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(scenario->NextRequest(rng, &params));
    EXPECT_EQ(params.kind, RequestKind::kSendSingle);
    EXPECT_TRUE(options.users->Contains(params.user_id));
    EXPECT_TRUE(options.users->Contains(params.peer_id));
    EXPECT_TRUE(seen.insert(Unordered(params.user_id, params.peer_id)).second);
  }
  EXPECT_FALSE(scenario->NextRequest(rng, &params));
  EXPECT_EQ(scenario->next_pair_offset(), 10u);
}

TEST(Scenario, SendNewStartsAfterThePairOffset) {
  BenchOptions options = OptionsFor(ScenarioId::kSendNew);
  options.users = UserRange{1, 5};
  options.pair_offset = 8;
  std::unique_ptr<Scenario> scenario = MustCreate(options);
  std::mt19937_64 rng(1);
  RequestParams params;
  EXPECT_TRUE(scenario->NextRequest(rng, &params));
  EXPECT_TRUE(scenario->NextRequest(rng, &params));
  EXPECT_FALSE(scenario->NextRequest(rng, &params));
}

TEST(Scenario, SendNewRejectsAnOffsetPastTheLastPair) {
  BenchOptions options = OptionsFor(ScenarioId::kSendNew);
  options.users = UserRange{1, 5};
  options.pair_offset = 10;
  EXPECT_EQ(CreateError(options),
            "send-new: --pair-offset 10 leaves no new pair (users 1-5 give 10)");
}

TEST(Scenario, SendExistingPreparesEveryPairAndThenSendsOnlyOnThem) {
  BenchOptions options = OptionsFor(ScenarioId::kSendExisting);
  options.users = UserRange{101, 110};
  std::unique_ptr<Scenario> scenario = MustCreate(options);
  ASSERT_EQ(scenario->prepare_count(), 5u);
  std::set<std::pair<uint32_t, uint32_t>> prepared;
  for (uint64_t i = 0; i < scenario->prepare_count(); ++i) {
    const RequestParams params = scenario->PrepareRequest(i);
    EXPECT_EQ(params.kind, RequestKind::kSendSingle);
    prepared.insert(Unordered(params.user_id, params.peer_id));
  }
  EXPECT_EQ(prepared, (std::set<std::pair<uint32_t, uint32_t>>{
                          {101, 102}, {103, 104}, {105, 106}, {107, 108}, {109, 110}}));
  std::mt19937_64 rng(7);
  std::set<uint32_t> senders;
  RequestParams params;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(scenario->NextRequest(rng, &params));
    EXPECT_TRUE(prepared.contains(Unordered(params.user_id, params.peer_id)));
    senders.insert(params.user_id);
  }
  EXPECT_EQ(senders.size(), 10u);  // both directions of every pair
}

TEST(Scenario, MsgListPreparesMsgCntMessagesPerPairWithPrepare) {
  BenchOptions options = OptionsFor(ScenarioId::kMsgList);
  options.users = UserRange{1, 4};
  options.msg_cnt = 3;
  EXPECT_EQ(MustCreate(options)->prepare_count(), 2u);  // one per pair
  options.prepare = true;
  std::unique_ptr<Scenario> scenario = MustCreate(options);
  ASSERT_EQ(scenario->prepare_count(), 6u);
  std::map<std::pair<uint32_t, uint32_t>, int> per_pair;
  for (uint64_t i = 0; i < 6; ++i) {
    const RequestParams params = scenario->PrepareRequest(i);
    ++per_pair[Unordered(params.user_id, params.peer_id)];
  }
  EXPECT_EQ(per_pair[std::make_pair(1u, 2u)], 3);
  EXPECT_EQ(per_pair[std::make_pair(3u, 4u)], 3);
  std::mt19937_64 rng(1);
  RequestParams params;
  ASSERT_TRUE(scenario->NextRequest(rng, &params));
  EXPECT_EQ(params.kind, RequestKind::kMsgList);
}

TEST(Scenario, PairScenariosNeedTwoUsers) {
  BenchOptions options = OptionsFor(ScenarioId::kSendExisting);
  options.users = UserRange{5, 5};
  EXPECT_EQ(CreateError(options),
            "send-existing: --users must hold at least 2 users (pairs A,A+1)");
}

TEST(Scenario, UnreadManyPreparesDistinctSendersForEveryTarget) {
  BenchOptions options = OptionsFor(ScenarioId::kUnreadMany);
  options.users = UserRange{5, 8};
  options.senders = UserRange{1, 7};  // overlaps the targets 5-7
  options.conversations = 6;
  options.prepare = true;
  std::unique_ptr<Scenario> scenario = MustCreate(options);
  ASSERT_EQ(scenario->prepare_count(), 24u);
  std::map<uint32_t, std::set<uint32_t>> senders_of;
  for (uint64_t i = 0; i < scenario->prepare_count(); ++i) {
    const RequestParams params = scenario->PrepareRequest(i);
    EXPECT_EQ(params.kind, RequestKind::kSendSingle);
    EXPECT_NE(params.user_id, params.peer_id);
    EXPECT_TRUE(options.users->Contains(params.peer_id));
    EXPECT_GE(params.user_id, 1u);
    EXPECT_LE(params.user_id, 8u);  // one past the senders when the target was skipped
    EXPECT_TRUE(senders_of[params.peer_id].insert(params.user_id).second);
  }
  ASSERT_EQ(senders_of.size(), 4u);
  for (const auto& [target, senders] : senders_of) {
    EXPECT_EQ(senders.size(), 6u) << "target " << target;
  }
}

TEST(Scenario, UnreadManyPreparesNothingWithoutPrepare) {
  std::unique_ptr<Scenario> scenario = MustCreate(OptionsFor(ScenarioId::kUnreadMany));
  EXPECT_EQ(scenario->prepare_count(), 0u);
  EXPECT_EQ(scenario->users().first, 801u);
  EXPECT_EQ(scenario->users().last, 900u);
}

TEST(Scenario, UnreadManyRejectsTooFewSenders) {
  BenchOptions options = OptionsFor(ScenarioId::kUnreadMany);
  options.users = UserRange{5, 8};
  options.senders = UserRange{1, 6};
  options.conversations = 6;
  EXPECT_EQ(CreateError(options),
            "unread-many: --senders 1-6 must hold at least 7 users for --conversations 6 (one "
            "more because it overlaps --users)");
}

TEST(Scenario, UnreadGroupPreparesOneMessagePerGroupFromTheSender) {
  BenchOptions options = OptionsFor(ScenarioId::kUnreadGroup);
  options.prepare = true;
  std::unique_ptr<Scenario> scenario = MustCreate(options);
  ASSERT_EQ(scenario->prepare_count(), 3u);
  std::set<uint32_t> groups;
  for (uint64_t i = 0; i < 3; ++i) {
    const RequestParams params = scenario->PrepareRequest(i);
    EXPECT_EQ(params.kind, RequestKind::kSendGroup);
    EXPECT_EQ(params.user_id, 1u);
    groups.insert(params.peer_id);
  }
  EXPECT_EQ(groups, (std::set<uint32_t>{1, 2, 4}));
  std::mt19937_64 rng(3);
  RequestParams params;
  ASSERT_TRUE(scenario->NextRequest(rng, &params));
  EXPECT_EQ(params.kind, RequestKind::kUnread);
  EXPECT_GE(params.user_id, 2u);
  EXPECT_LE(params.user_id, 10u);
}

TEST(Scenario, GroupSendPicksSendersAmongTheDemoGroupsMembers) {
  BenchOptions options = OptionsFor(ScenarioId::kGroupSend);
  options.group_id = 2;
  std::unique_ptr<Scenario> scenario = MustCreate(options);
  EXPECT_EQ(scenario->users().first, 1u);
  EXPECT_EQ(scenario->users().last, 100u);
  std::mt19937_64 rng(5);
  RequestParams params;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(scenario->NextRequest(rng, &params));
    EXPECT_EQ(params.kind, RequestKind::kSendGroup);
    EXPECT_EQ(params.peer_id, 2u);
    EXPECT_GE(params.user_id, 1u);
    EXPECT_LE(params.user_id, 100u);
  }
}

TEST(Scenario, GroupSendNeedsAGroupAndMembersForUnknownGroups) {
  BenchOptions options = OptionsFor(ScenarioId::kGroupSend);
  EXPECT_EQ(CreateError(options), "group-send: --group-id is required (demo groups: 1, 2, 4)");
  options.group_id = 9;
  EXPECT_EQ(CreateError(options),
            "group-send: group 9 is not a demo group; give its members with --users");
  options.users = UserRange{20, 30};
  EXPECT_EQ(MustCreate(options)->users().first, 20u);
}

TEST(Scenario, DefaultUserRangesKeepScenariosApart) {
  EXPECT_EQ(MustCreate(OptionsFor(ScenarioId::kUnreadEmpty))->users().first, 901u);
  EXPECT_EQ(MustCreate(OptionsFor(ScenarioId::kLogin))->users().last, 1000u);
  EXPECT_EQ(MustCreate(OptionsFor(ScenarioId::kSendExisting))->users().last, 800u);
  EXPECT_EQ(MustCreate(OptionsFor(ScenarioId::kSendNew))->users().last, 800u);
}

TEST(MixedProfile, DrawsKindsInTheDocumentedProportions) {
  std::map<RequestKind, int> counts;
  for (int draw = 0; draw < 100; ++draw) {
    ++counts[MixedKindFor(draw)];
  }
  EXPECT_EQ(counts[RequestKind::kSendSingle], 40);
  EXPECT_EQ(counts[RequestKind::kUnread], 25);
  EXPECT_EQ(counts[RequestKind::kMsgList], 20);
  EXPECT_EQ(counts[RequestKind::kRecentSession], 10);
  EXPECT_EQ(counts[RequestKind::kLogin], 5);
}

TEST(MixedProfile, SendsAndListsOnlyOnPreparedPairs) {
  BenchOptions options = OptionsFor(ScenarioId::kMixed);
  options.users = UserRange{1, 6};
  std::unique_ptr<Scenario> scenario = MustCreate(options);
  ASSERT_EQ(scenario->prepare_count(), 3u);
  std::mt19937_64 rng(11);
  std::map<RequestKind, int> counts;
  RequestParams params;
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(scenario->NextRequest(rng, &params));
    ++counts[params.kind];
    if (params.kind == RequestKind::kSendSingle || params.kind == RequestKind::kMsgList) {
      EXPECT_EQ((std::min(params.user_id, params.peer_id) - 1) % 2, 0u);
      EXPECT_EQ(std::max(params.user_id, params.peer_id) - std::min(params.user_id, params.peer_id),
                1u);
    } else {
      EXPECT_TRUE(options.users->Contains(params.user_id));
    }
  }
  // 20000 draws: each share within 1.5 points of its weight.
  EXPECT_NEAR(counts[RequestKind::kSendSingle] / 200.0, 40, 1.5);
  EXPECT_NEAR(counts[RequestKind::kUnread] / 200.0, 25, 1.5);
  EXPECT_NEAR(counts[RequestKind::kMsgList] / 200.0, 20, 1.5);
  EXPECT_NEAR(counts[RequestKind::kRecentSession] / 200.0, 10, 1.5);
  EXPECT_NEAR(counts[RequestKind::kLogin] / 200.0, 5, 1.5);
}

TEST(Scenario, IdleSendsNothing) {
  std::unique_ptr<Scenario> scenario = MustCreate(OptionsFor(ScenarioId::kIdle));
  EXPECT_FALSE(scenario->sends_requests());
  std::mt19937_64 rng(1);
  RequestParams params;
  EXPECT_FALSE(scenario->NextRequest(rng, &params));
}

}  // namespace
}  // namespace dbproxy::bench
