// Scenario 4 of issue 12: the Redis under a dbproxyd is shut down without saving
// (SHUTDOWN NOSAVE) under load and started again empty: every counter, member hash and
// unread count is gone, MySQL keeps everything.
//
// Asserted: sends keep being stored while Redis is down (msgIds and group membership come
// from MySQL then); ids continue after the highest stored msgId and are never reused, also
// in a conversation not written since the loss; the member hash of the group is rebuilt
// from MySQL, including a member added while Redis was down, and a group send after the
// restart is unread for every other member; then the invariants of invariants.h with I6 as
// CounterLoss defines it: the counters of messages counted before the loss are gone (no
// read markers in MySQL to rebuild them from), every message stored during the outage
// (through the repair queue) or after it is counted exactly once.

#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Group.pb.h"
#include "IM.Message.pb.h"
#include "tests/cluster/fault_load.h"
#include "tests/cluster/invariants.h"
#include "tests/support/daemon_process.h"
#include "tests/support/private_mariadb.h"
#include "tests/support/private_redis.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing::cluster {
namespace {

// Redis pool timeouts as shipped (core/config/config.h). A dead Redis refuses connects at
// once, so a request that needs it answers within the connect + command timeout; a second
// of margin for a loaded machine.
constexpr long kOutageAnswerBoundMs = 1000 + 2000 + 1000;
constexpr long kRecoveryBoundMs = 5000;

constexpr auto kBefore = std::chrono::milliseconds(1500);
constexpr auto kDown = std::chrono::seconds(2);
constexpr auto kAfter = std::chrono::milliseconds(3500);
// Unread increments queued while Redis was down are replayed within one repair interval
// (unread.repair_interval_ms, 1 s) of its return; from then on nothing fails.
constexpr auto kRepaired = std::chrono::seconds(2);

// A conversation written only before the loss.
constexpr uint32_t kColdFrom = 901;
constexpr uint32_t kColdTo = 902;
constexpr int kColdMessages = 3;
// Added to group 1 (members 1..10) while Redis is down.
constexpr uint32_t kNewMember = 11;

long Ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

uint32_t SendSingle(WireClient& client, Ledger* ledger, uint32_t from, uint32_t to,
                    const std::string& content) {
  IM::Message::IMMsgData m;
  m.set_from_user_id(from);
  m.set_to_session_id(to);
  m.set_msg_id(0);
  m.set_create_time(1700000000);
  m.set_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  m.set_msg_data(content);
  SendRecord send{false, from, to, content, Outcome::kUnanswered, 0};
  send.sent = Clock::now();
  IM::Message::IMMsgData r;
  if (client.CallMessage(3, 0x0301, m, &r)) {
    send.outcome = r.msg_id() == 0 ? Outcome::kAnsweredZero : Outcome::kAnswered;
    send.msg_id = r.msg_id();
  }
  send.finished = Clock::now();
  ledger->RecordSend(send);
  return send.msg_id;
}

TEST(RedisDataLossTest, IdsContinueMembershipRebuiltAndUnreadCountedAfterEmptyRestart) {
  // A private MariaDB too: the shared one is busy with every other suite, and this test
  // compares throughput before, during and after.
  std::unique_ptr<PrivateMariadb> mariadb = PrivateMariadb::Start();
  std::unique_ptr<PrivateRedis> redis_server = PrivateRedis::Start();
  std::unique_ptr<TestDatabase> db = TestDatabase::Create(mariadb->env());
  std::unique_ptr<TestRedis> redis = TestRedis::Create(redis_server->env());
  DaemonOptions options;
  options.plugins = {"message", "unread", "session", "group_member"};
  options.workers = 4;
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(*db, *redis, options));

  Ledger ledger;
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon.port())) << client.last_error();
  for (int i = 1; i <= kColdMessages; ++i) {
    ASSERT_EQ(SendSingle(client, &ledger, kColdFrom, kColdTo, "cold " + std::to_string(i)),
              static_cast<uint32_t>(i));
  }

  FaultLoadOptions load_options;
  load_options.port = daemon.port();
  load_options.exact_unread = false;  // the counts are lost with Redis
  FaultLoad load(load_options, &ledger);
  const Clock::time_point load_start = Clock::now();
  load.Start();
  std::this_thread::sleep_for(kBefore);

  CounterLoss loss;
  loss.begin = Clock::now();
  redis_server->ShutdownNoSave();
  loss.end = Clock::now();

  // A member joins while Redis is down: MySQL takes it, the hash cannot.
  IM::Group::IMGroupChangeMemberReq add;
  add.set_user_id(1);
  add.set_change_type(IM::BaseDefine::GROUP_MODIFY_TYPE_ADD);
  add.set_group_id(load.group());
  add.add_member_id_list(kNewMember);
  IM::Group::IMGroupChangeMemberRsp added;
  ASSERT_TRUE(client.CallMessage(4, 0x0407, add, &added, 10000));
  EXPECT_EQ(added.result_code(), 0u) << "adding a member with Redis down";
  std::this_thread::sleep_for(kDown);

  const Clock::time_point restart_begin = Clock::now();
  redis_server->Restart();
  const Clock::time_point restored = Clock::now();
  redis->Reconnect();
  std::this_thread::sleep_for(kAfter);
  const Clock::time_point load_end = Clock::now();
  load.Stop();

  const std::optional<Clock::time_point> unread_back =
      load.FirstSuccess(OpKind::kUnreadCount, restored);
  const WindowStats before = load.Window(load_start, loss.begin, /*by_finish=*/true);
  const WindowStats during = load.Window(loss.begin, restored);
  const WindowStats after = load.Window(restored + kRepaired, load_end);
  const long outage_max_ms = load.MaxLatencyOverlapping(loss.begin, restored);
  const long recovery_ms = unread_back ? Ms(*unread_back - restored) : -1;
  long sends_failed = 0;
  for (const Op& op : load.ops()) {
    sends_failed +=
        (op.kind == OpKind::kPairSend || op.kind == OpKind::kGroupSend) && !op.succeeded;
  }
  std::printf(
      "[ cluster ] Redis SHUTDOWN NOSAVE (%ld ms) and empty restart (%ld ms):\n"
      "[ cluster ]   before: %s\n"
      "[ cluster ]   during: %s\n"
      "[ cluster ]   after:  %s\n"
      "[ cluster ]   max latency of a request in flight during the outage %ld ms (bound %ld);"
      " unread counts answered again %ld ms after the restart; %ld sends failed in all\n",
      Ms(loss.end - loss.begin), Ms(restored - restart_begin), before.Describe().c_str(),
      during.Describe().c_str(), after.Describe().c_str(), outage_max_ms, kOutageAnswerBoundMs,
      recovery_ms, sends_failed);

  for (const std::string& p : load.problems()) {
    ADD_FAILURE() << p;
  }
  EXPECT_FALSE(daemon.WaitExit(0).has_value()) << "dbproxyd exited";
  EXPECT_EQ(before.failed, 0);
  EXPECT_EQ(load.Window(load_start, load_end).unanswered, 0);
  EXPECT_LE(outage_max_ms, kOutageAnswerBoundMs);
  EXPECT_EQ(sends_failed, 0) << "sends need MySQL only";
  EXPECT_GT(during.sends_stored, 20);
  ASSERT_TRUE(unread_back.has_value()) << "0x0307 never succeeded after the restart";
  EXPECT_LT(recovery_ms, kRecoveryBoundMs);
  EXPECT_GT(after.sends_stored, 20);
  EXPECT_EQ(after.failed, 0) << "failures " << Ms(kRepaired) << " ms after the restart";

  // Ids continue where MySQL is, where nothing was written since the loss too.
  EXPECT_EQ(SendSingle(client, &ledger, kColdFrom, kColdTo, "cold after"),
            static_cast<uint32_t>(kColdMessages + 1));

  // Membership from MySQL: everyone reads the group, then the new member's message is
  // unread for every other member (I6 below) and the hash holds exactly the MySQL members.
  ReadGroupAsEveryMember(daemon.port(), *db, *redis, &ledger, load.group(), kNewMember);
  const uint32_t highest = HighestMsgId(*db, true, load.group(), 0);
  EXPECT_EQ(SendGroupMessage(daemon.port(), &ledger, load.group(), kNewMember, "new member"),
            highest + 1);
  std::set<std::string> in_mysql;
  for (const auto& row : db->Query("SELECT userId FROM IMGroupMember WHERE groupId = " +
                                   std::to_string(load.group()) + " AND status = 0")) {
    in_mysql.insert(row[0].value_or(""));
  }
  std::set<std::string> in_redis;
  RedisReply hash = redis->Command(redis->db("group_member"), "HGETALL",
                                   "group_member_" + std::to_string(load.group()));
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    in_redis.insert(hash.elements[i].str);
  }
  EXPECT_EQ(in_redis, in_mysql) << "group_member_" << load.group() << " after the rebuild";
  EXPECT_EQ(in_mysql.count(std::to_string(kNewMember)), 1u);

  CheckOptions check;
  check.counters_lost = loss;
  CheckEventually(*db, *redis, ledger, 15000, check);
  EXPECT_EQ(daemon.Stop(), 0);
}

}  // namespace
}  // namespace dbproxy::testing::cluster
