// Outages and slow peers, with every chat module built in this tree enabled.
//
// MySQL (both pools) and Redis (all five instances) are reached through
// tests/support/tcp_proxy.h forwarders, cut and restored mid-run: MySQL, then Redis, then
// both. During each cut every command with a response must answer within 5 s, with its
// failure value wherever it needs what was cut, and never report a failure for something it
// stored (or success for something it did not). After each restore the same requests must
// succeed again.
//
// Peers that never read their socket while asking for big answers must be closed once their
// output passes max_output_buffer_bytes, and 50 of them at once must not make the daemon's
// RSS grow past a bound set by that limit.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Group.pb.h"
#include "IM.Message.pb.h"
#include "tests/fault/command_catalog.h"
#include "tests/fault/fault_harness.h"
#include "tests/fault/non_reader.h"
#include "tests/support/daemon_process.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing::fault {
namespace {

using Clock = std::chrono::steady_clock;
using Frame = WireClient::Frame;

constexpr int kAnswerBoundMs = 5000;
constexpr int kRecoveryTimeoutMs = 15000;

// Low timeouts so an outage costs each request little; the connect of a cut backend is
// refused at once anyway.
constexpr const char* kPoolYaml =
    "connect_timeout_ms: 500\n"
    "read_timeout_ms: 1500\n"
    "write_timeout_ms: 1500\n"
    "acquire_timeout_ms: 1000\n";

enum class Phase { kUp, kMysqlDown, kRedisDown, kBothDown };

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kUp:
      return "all up";
    case Phase::kMysqlDown:
      return "MySQL cut";
    case Phase::kRedisDown:
      return "Redis cut";
    case Phase::kBothDown:
      return "MySQL and Redis cut";
  }
  return "?";
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// Reads what a write command changes, before and after it, to prove that an answer of
// failure stored nothing and an answer of success stored what was asked.
struct WriteCheck {
  // The stored value now ("" for none).
  std::function<std::string()> read;
  // The value success must leave.
  std::function<std::string(int round)> expected;
};

class OutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = TestDatabase::Create();
    redis_ = TestRedis::Create();
    mysql_proxy_ = TcpProxy::Start(db_->env().mysql_host, db_->env().mysql_port);
    redis_proxy_ = TcpProxy::Start(redis_->env().redis_host, redis_->env().redis_port);
    DaemonOptions options;
    options.plugins = BuiltModules();
    options.workers = 4;
    for (const char* pool : {"teamtalk_master", "teamtalk_slave"}) {
      options.mysql_overrides[pool] = {mysql_proxy_->port(), kPoolYaml};
    }
    for (std::string_view instance : TestRedis::kInstances) {
      options.redis_ports[std::string(instance)] = redis_proxy_->port();
    }
    ASSERT_TRUE(daemon_.Start(*db_, *redis_, options));
    ASSERT_TRUE(client_.Connect(daemon_.port())) << client_.last_error();
    ledger_.Start(db_.get());
    DefineWriteChecks();
    DefineSettledChecks();
  }

  void DefineWriteChecks() {
    TestDatabase* db = db_.get();
    TestRedis* redis = redis_.get();
    checks_[0x0213] = {
        [db] { return db->QueryValue("SELECT sign_info FROM IMUser WHERE id = 9").value_or(""); },
        [](int round) { return "sign round " + std::to_string(round); }};
    checks_[0x020c] = {
        [db] { return db->QueryValue("SELECT avatar FROM IMUser WHERE id = 9").value_or(""); },
        [](int round) { return "http://img.example/" + std::to_string(round) + ".png"; }};
    checks_[0x010c] = {
        [db] {
          return db->QueryValue("SELECT push_shield_status FROM IMUser WHERE id = 8").value_or("");
        },
        [](int round) { return std::to_string(round % 2); }};
    checks_[0x0405] = {[db, this] {
                         return db
                             ->QueryValue("SELECT COUNT(*) FROM IMGroup WHERE name = " +
                                          Quote("fault-" + std::to_string(round_)))
                             .value_or("");
                       },
                       [](int) { return std::string("1"); }};
    // A member is added in MySQL (the source of truth) or not at all; the Redis copy is
    // checked by CheckMembershipCache() once Redis is reachable.
    checks_[0x0407] = {[db, this] {
                         return db
                             ->QueryValue(
                                 "SELECT COUNT(*) FROM IMGroupMember WHERE groupId = 1 AND "
                                 "status = 0 AND userId = " +
                                 std::to_string(100 + round_ % 900))
                             .value_or("");
                       },
                       [](int) { return std::string("1"); }};
    checks_[0x0409] = {[redis] {
                         RedisReply r =
                             redis->Command(redis->db("group_set"), "HGET", "group_set_1", "1_1");
                         return r.is_nil() ? std::string("nil") : r.str;
                       },
                       [](int round) { return std::to_string(round % 2); }};
    checks_[0x0206] = {[db] {
                         return db
                             ->QueryValue(
                                 "SELECT COUNT(*) FROM IMRecentSession WHERE userId = 2 AND "
                                 "peerId = 1 AND type = 1 AND status = 0")
                             .value_or("");
                       },
                       [](int) { return std::string("0"); }};
  }

  // When the effect of a no-response command is visible (it runs on another worker than the
  // request after it, so a later read can overtake it).
  void DefineSettledChecks() {
    TestDatabase* db = db_.get();
    TestRedis* redis = redis_.get();
    auto files = [db] {
      return db
          ->QueryValue(
              "SELECT COUNT(*) FROM IMTransmitFile WHERE fromId = 11 AND toId = 12 "
              "AND taskId = 'fault-task'")
          .value_or("");
    };
    settled_[0x050b] = [files] { return files() != "0"; };
    settled_[0x050c] = [files] { return files() == "0"; };
    settled_[0x0303] = [redis] {
      return redis->Command(redis->db("unread"), "HGET", "unread_2", 1).is_nil();
    };
  }

  // Every user added to group 1 while something was cut is a member in MySQL; the Redis copy
  // of the group (when there is one) must say so too once Redis is back, or the member is
  // refused by every membership check until something rebuilds the hash.
  void CheckMembershipCache(const char* after) {
    RedisReply exists = redis_->Command(redis_->db("group_member"), "EXISTS", "group_member_1");
    if (exists.integer == 0) {
      return;  // no copy: the next lookup rebuilds it from MySQL
    }
    for (const TestDatabase::Row& row :
         db_->Query("SELECT userId FROM IMGroupMember WHERE groupId = 1 AND status = 0")) {
      std::string uid = row[0].value_or("0");
      RedisReply has =
          redis_->Command(redis_->db("group_member"), "HEXISTS", "group_member_1", uid);
      if (has.integer == 1) {
        continue;
      }
      // What it costs the member: their group messages are refused.
      IM::Message::IMMsgData m;
      m.set_from_user_id(static_cast<uint32_t>(std::stoul(uid)));
      m.set_to_session_id(1);
      m.set_msg_id(0);
      m.set_create_time(1700000200);
      m.set_msg_type(IM::BaseDefine::MSG_TYPE_GROUP_TEXT);
      m.set_msg_data("member check");
      IM::Message::IMMsgData r;
      std::optional<Frame> answer = client_.Call(3, 0x0301, m.SerializeAsString());
      bool stored = answer && ParsesWhole(&r, answer->body) && r.msg_id() != 0;
      if (stored) {
        ledger_.Record(r);
      }
      ADD_FAILURE() << "after " << after << ": user " << uid
                    << " is an active member of group 1 in IMGroupMember but missing from the "
                       "Redis hash group_member_1; a group message from them is "
                    << (stored ? "still stored" : "refused (msg_id 0)");
    }
  }

  // One valid request of every command, checked against what the phase allows.
  void RunRound(Phase phase) {
    std::vector<std::string> problems;
    std::ostringstream table;
    for (const CommandCase& c : Catalog()) {
      if (!ModuleBuilt(c.module)) {
        continue;
      }
      round_ = NextRound();
      std::string body = c.valid_body(round_);
      auto check = checks_.find(c.request_cmd);
      std::string before = check != checks_.end() ? check->second.read() : "";
      if (c.response_cmd == 0) {
        uint16_t seq = static_cast<uint16_t>(client_.last_seq() + 1000);
        if (!client_.SendFrame(c.service_id, c.request_cmd, seq, body)) {
          problems.push_back(c.name() + ": send failed: " + client_.last_error());
        }
        auto settled = settled_.find(c.request_cmd);
        if (phase == Phase::kUp && settled != settled_.end()) {
          Clock::time_point deadline = Clock::now() + std::chrono::seconds(3);
          while (!settled->second() && Clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition
          }
          if (!settled->second()) {
            problems.push_back(c.name() + ": no effect within 3 s with everything up");
          }
        }
        continue;
      }
      Clock::time_point start = Clock::now();
      std::optional<Frame> answer = client_.Call(c.service_id, c.request_cmd, body, kAnswerBoundMs);
      long ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
      if (!answer) {
        problems.push_back(c.name() + ": no answer within " + std::to_string(kAnswerBoundMs) +
                           " ms" + (client_.peer_closed() ? " (connection closed)" : ""));
        table << "  " << c.name() << ": no answer\n";
        if (client_.peer_closed() || !client_.connected()) {
          (void)client_.Connect(daemon_.port());
        }
        continue;
      }
      std::string header = CheckResponseHeader(c, *answer, client_.last_seq());
      std::unique_ptr<MessageLite> response = c.new_response();
      if (!header.empty() || !response->ParseFromString(answer->body)) {
        problems.push_back(c.name() + ": bad answer: " + header + " body " +
                           HexPrefix(answer->body, 48));
        continue;
      }
      if (c.request_cmd == 0x0301) {
        ledger_.Record(static_cast<const IM::Message::IMMsgData&>(*response));
      }
      std::string success = c.success_problem(*response, round_);
      std::string failure = c.failure_problem ? c.failure_problem(*response) : "no failure value";
      bool failed = failure.empty();
      table << "  " << c.name() << ": "
            << (failed            ? "failure"
                : success.empty() ? "success"
                                  : "?")
            << " in " << ms << " ms\n";
      bool must_fail = c.failure_problem && (phase == Phase::kBothDown ||
                                             (phase == Phase::kMysqlDown && c.needs_mysql) ||
                                             (phase == Phase::kRedisDown && c.needs_redis));
      if (phase == Phase::kUp && !success.empty()) {
        problems.push_back(c.name() + ": no success with everything up: " + success);
      } else if (must_fail && !failed) {
        problems.push_back(c.name() +
                           ": answered without its failure value although what it "
                           "needs is cut: " +
                           failure);
      } else if (!failed && !success.empty()) {
        problems.push_back(c.name() + ": neither the failure value nor a correct success: " +
                           success + " / " + failure);
      }
      if (check != checks_.end()) {
        std::string after = check->second.read();
        std::string expected = check->second.expected(round_);
        if (failed && after != before) {
          problems.push_back(c.name() + ": answered failure but changed what it stores: " + before +
                             " -> " + after);
        }
        if (!failed && success.empty() && after != expected) {
          problems.push_back(c.name() + ": answered success but stored " + after + " instead of " +
                             expected);
        }
      }
    }
    std::printf("[ outage ] %s:\n%s", PhaseName(phase), table.str().c_str());
    ledger_.Verify();
    for (const std::string& p : problems) {
      ADD_FAILURE() << PhaseName(phase) << ": " << p;
    }
    ASSERT_TRUE(!daemon_.WaitExit(0).has_value()) << "dbproxyd died while " << PhaseName(phase);
  }

  // Waits until every pool and instance is back (each reconnects on its own, at most every
  // 250 ms while its server is down): a send is stored, and the reads that need the slave
  // pool and each Redis instance succeed. Each probe is polled until it succeeds.
  void WaitRecovered(const char* what) {
    Clock::time_point start = Clock::now();
    Clock::time_point deadline = start + std::chrono::milliseconds(kRecoveryTimeoutMs);
    for (uint16_t cmd : {0x0301, 0x0204, 0x0711, 0x0705}) {
      const CommandCase* probe = nullptr;
      for (const CommandCase& c : Catalog()) {
        if (c.request_cmd == cmd && ModuleBuilt(c.module)) {
          probe = &c;
        }
      }
      if (probe == nullptr) {
        continue;
      }
      bool ok = false;
      while (!ok && Clock::now() < deadline) {
        int round = NextRound();
        std::optional<Frame> answer =
            client_.Call(probe->service_id, probe->request_cmd, probe->valid_body(round), 5000);
        std::unique_ptr<MessageLite> response = probe->new_response();
        if (answer && ParsesWhole(response.get(), answer->body)) {
          if (cmd == 0x0301) {
            ledger_.Record(static_cast<const IM::Message::IMMsgData&>(*response));
          }
          ok = probe->success_problem(*response, round).empty();
        }
        if (!ok) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
        }
      }
      if (!ok) {
        ADD_FAILURE() << probe->name() << " still fails " << kRecoveryTimeoutMs << " ms after "
                      << what << " was restored";
        return;
      }
    }
    std::printf(
        "[ outage ] every probe succeeds again %lld ms after %s was restored\n",
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()),
        what);
    CheckMembershipCache(what);
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<TestRedis> redis_;
  std::unique_ptr<TcpProxy> mysql_proxy_;
  std::unique_ptr<TcpProxy> redis_proxy_;
  DaemonProcess daemon_;
  WireClient client_;
  MessageLedger ledger_;
  std::map<uint16_t, WriteCheck> checks_;
  std::map<uint16_t, std::function<bool()>> settled_;
  int round_ = 0;
};

TEST_F(OutageTest, EveryCommandAnswersItsFailureDuringCutsAndSucceedsAfterRestore) {
  RunRound(Phase::kUp);

  mysql_proxy_->Cut();
  RunRound(Phase::kMysqlDown);
  ASSERT_TRUE(mysql_proxy_->Restore());
  WaitRecovered("MySQL");
  RunRound(Phase::kUp);

  redis_proxy_->Cut();
  RunRound(Phase::kRedisDown);
  ASSERT_TRUE(redis_proxy_->Restore());
  WaitRecovered("Redis");
  RunRound(Phase::kUp);

  mysql_proxy_->Cut();
  redis_proxy_->Cut();
  RunRound(Phase::kBothDown);
  ASSERT_TRUE(mysql_proxy_->Restore());
  ASSERT_TRUE(redis_proxy_->Restore());
  WaitRecovered("MySQL and Redis");
  RunRound(Phase::kUp);
}

// ---- Peers that do not read -----------------------------------------------------------

// The smallest sensible limit: one largest frame (the daemon closes a connection as soon as
// one answer does not fit, so a smaller limit would close healthy readers of big answers).
constexpr uint32_t kOutputLimit = 1024 * 1024;
constexpr int kBigMessages = 100;
constexpr size_t kBigMessageBytes = 4000;
constexpr uint32_t kBigFrom = 3;
constexpr uint32_t kBigTo = 4;

std::string BigListRequest() {
  IM::Message::IMGetMsgListReq r;
  r.set_user_id(kBigFrom);
  r.set_session_type(IM::BaseDefine::SESSION_TYPE_SINGLE);
  r.set_session_id(kBigTo);
  r.set_msg_id_begin(0);
  r.set_msg_cnt(kBigMessages);
  return WireClient::EncodeFrame(WireClient::MakeFrame(3, 0x0309, 7, r.SerializeAsString()));
}

class SlowPeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = TestDatabase::Create();
    redis_ = TestRedis::Create();
    DaemonOptions options;
    options.plugins = BuiltModules();
    options.workers = 4;
    options.server_overrides = "max_output_buffer_bytes: " + std::to_string(kOutputLimit) + "\n";
    ASSERT_TRUE(daemon_.Start(*db_, *redis_, options));
    // A conversation whose message list answer is ~400 KB.
    WireClient client;
    ASSERT_TRUE(client.Connect(daemon_.port()));
    for (int i = 0; i < kBigMessages; ++i) {
      IM::Message::IMMsgData m;
      m.set_from_user_id(kBigFrom);
      m.set_to_session_id(kBigTo);
      m.set_msg_id(0);
      m.set_create_time(1700000000u + static_cast<uint32_t>(i));
      m.set_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
      m.set_msg_data(std::string(kBigMessageBytes, static_cast<char>('a' + i % 26)));
      IM::Message::IMMsgData r;
      ASSERT_TRUE(client.CallMessage(3, 0x0301, m, &r));
      ASSERT_NE(r.msg_id(), 0u);
    }
    IM::Message::IMGetMsgListRsp list;
    std::optional<Frame> answer = client.Call(3, 0x0309, BigListRequest().substr(16));
    ASSERT_TRUE(answer.has_value()) << "no answer to the big message list";
    ASSERT_TRUE(ParsesWhole(&list, answer->body))
        << "command " << Hex16(answer->command_id) << ", " << answer->body.size() << " bytes";
    ASSERT_EQ(list.msg_list_size(), kBigMessages);
    answer_bytes_ = answer->body.size();
  }

  bool ClosedForOutput(uint16_t local_port) {
    return daemon_.ReadLog().find("peer=127.0.0.1:" + std::to_string(local_port) +
                                  " output buffer over") != std::string::npos;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<TestRedis> redis_;
  DaemonProcess daemon_;
  size_t answer_bytes_ = 0;
};

TEST_F(SlowPeerTest, PeerThatStopsReadingIsClosedPastTheOutputLimit) {
  NonReader peer;
  ASSERT_TRUE(peer.Connect(daemon_.port()));
  std::string request = BigListRequest();
  // Ask, without reading, until the daemon gives up on this peer: answers of ~400 KB pile
  // up against a 1 MiB limit plus whatever the kernel buffers on both sides.
  int sent = 0;
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
  while (!ClosedForOutput(peer.local_port()) && Clock::now() < deadline && sent < 200) {
    if (!peer.Send(request)) {
      break;  // already closed
    }
    ++sent;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pacing the sender only
  }
  std::printf("[ slow peer ] %d requests of ~%zu-byte answers before the close\n", sent,
              answer_bytes_);
  EXPECT_TRUE(ClosedForOutput(peer.local_port()))
      << "no 'output buffer over' close for the peer after " << sent << " requests";
  long drained = peer.DrainUntilClosed(10000);
  EXPECT_GE(drained, 0) << "the connection is still open";

  WireClient fresh;
  ASSERT_TRUE(fresh.Connect(daemon_.port()));
  EXPECT_TRUE(fresh.Call(3, 0x0309, request.substr(16)).has_value());
}

TEST_F(SlowPeerTest, FiftyNonReadingPeersKeepTheDaemonRssBounded) {
  constexpr int kPeers = 50;
  constexpr int kRequestsPerPeer = 24;
  long rss_before = RssKb(daemon_.pid());
  ASSERT_GT(rss_before, 0);
  std::string burst;
  for (int i = 0; i < kRequestsPerPeer; ++i) {
    burst += BigListRequest();
  }
  std::vector<std::unique_ptr<NonReader>> peers;
  for (int i = 0; i < kPeers; ++i) {
    peers.push_back(std::make_unique<NonReader>());
    ASSERT_TRUE(peers.back()->Connect(daemon_.port()));
    ASSERT_TRUE(peers.back()->Send(burst));
  }
  // Sample RSS until every peer is closed (or the deadline).
  long rss_peak = rss_before;
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(60);
  int closed = 0;
  while (Clock::now() < deadline) {
    rss_peak = std::max(rss_peak, RssKb(daemon_.pid()));
    std::string log = daemon_.ReadLog();
    closed = 0;
    for (const auto& p : peers) {
      closed += log.find("peer=127.0.0.1:" + std::to_string(p->local_port()) +
                         " output buffer over") != std::string::npos;
    }
    if (closed == kPeers) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // sampling interval
  }
  rss_peak = std::max(rss_peak, RssKb(daemon_.pid()));
  long asked_kb = static_cast<long>(kPeers * kRequestsPerPeer * answer_bytes_ / 1024);
  long bound_kb = rss_before + kPeers * (kOutputLimit / 1024) + 48 * 1024;
  std::printf(
      "[ slow peers ] %d/%d closed; RSS %ld KiB before, peak %ld KiB (bound %ld KiB, "
      "answers asked for %ld KiB)\n",
      closed, kPeers, rss_before, rss_peak, bound_kb, asked_kb);
  EXPECT_EQ(closed, kPeers);
  EXPECT_LE(rss_peak, bound_kb);

  WireClient fresh;
  ASSERT_TRUE(fresh.Connect(daemon_.port()));
  EXPECT_TRUE(fresh.Call(3, 0x0309, BigListRequest().substr(16), 10000).has_value());
  EXPECT_FALSE(daemon_.WaitExit(0).has_value());
}

}  // namespace
}  // namespace dbproxy::testing::fault
