// Scenario 1 of issue 12: two and three dbproxyd processes on the same MariaDB and Redis,
// sending concurrently on the same 50 pairs and the same group, plus first contact on new
// pairs from every process at once; then every invariant of tests/cluster/invariants.h.

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "tests/cluster/invariants.h"
#include "tests/cluster/send_load.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing::cluster {
namespace {

constexpr int kThreadsPerDaemon = 3;
constexpr auto kLoadTime = std::chrono::seconds(4);

struct Stats {
  long answered = 0;
  long zero = 0;
  long unanswered = 0;
  long max_ms = 0;
};

// One client thread: round-robin over the shared pairs, the group and first contacts.
void Load(uint16_t port, int daemon, int thread, int new_pair_base, Ledger* ledger, Stats* out) {
  WireClient client;
  if (!client.Connect(port)) {
    ADD_FAILURE() << "connect: " << client.last_error();
    return;
  }
  Clock::time_point end = Clock::now() + kLoadTime;
  for (int n = 0; Clock::now() < end; ++n) {
    SendRecord send;
    int kind = n % 10;
    if (kind < 7) {
      int pair = (n * 7 + thread) % kPairs;
      uint32_t a = 101 + pair;
      uint32_t b = 201 + pair;
      send.from = (n / 10 + daemon) % 2 == 0 ? a : b;
      send.to = send.from == a ? b : a;
    } else if (kind < 9) {
      send.group = true;
      send.to = kGroup;
      send.from = 1 + (n + thread + daemon * 3) % 10;
    } else {
      // Every daemon's thread t makes the same first contacts in the same order.
      int k = new_pair_base + thread * 1000 + n / 10;
      send.from = 301 + k % 300;
      send.to = 601 + k / 300 % 300;
    }
    send.content =
        "d" + std::to_string(daemon) + " t" + std::to_string(thread) + " n" + std::to_string(n);
    Clock::time_point start = Clock::now();
    std::optional<WireClient::Frame> answer = client.Call(3, kMsgData, EncodeSend(send, n), 10000);
    long ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    out->max_ms = std::max(out->max_ms, ms);
    std::optional<uint32_t> id = answer ? AnsweredMsgId(answer->body) : std::nullopt;
    if (!id) {
      send.outcome = Outcome::kUnanswered;
      ++out->unanswered;
      ledger->RecordSend(send);
      if (!client.Connect(port)) {
        return;
      }
      continue;
    }
    send.outcome = *id == 0 ? Outcome::kAnsweredZero : Outcome::kAnswered;
    send.msg_id = *id;
    ++(*id == 0 ? out->zero : out->answered);
    ledger->RecordSend(send);
  }
}

class SeveralProxiesTest : public ::testing::TestWithParam<int> {};

TEST_P(SeveralProxiesTest, ConcurrentSendsOnSharedStorageKeepEveryInvariant) {
  const int daemons = GetParam();
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  DaemonOptions options;
  options.plugins = {"message", "unread", "session", "group_member"};
  options.workers = 4;
  std::vector<std::unique_ptr<DaemonProcess>> procs;
  for (int d = 0; d < daemons; ++d) {
    procs.push_back(std::make_unique<DaemonProcess>());
    ASSERT_TRUE(procs.back()->Start(*db, *redis, options));
  }
  Ledger ledger;
  std::vector<Stats> stats(daemons * kThreadsPerDaemon);
  std::vector<std::thread> threads;
  Clock::time_point start = Clock::now();
  for (int d = 0; d < daemons; ++d) {
    for (int t = 0; t < kThreadsPerDaemon; ++t) {
      threads.emplace_back(Load, procs[d]->port(), d, t, 0, &ledger,
                           &stats[d * kThreadsPerDaemon + t]);
    }
  }
  for (std::thread& t : threads) {
    t.join();
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Stats total;
  for (const Stats& s : stats) {
    total.answered += s.answered;
    total.zero += s.zero;
    total.unanswered += s.unanswered;
    total.max_ms = std::max(total.max_ms, s.max_ms);
  }
  // Group senders read the group once everything is answered (see invariants.h, I6).
  WireClient reader;
  ASSERT_TRUE(reader.Connect(procs[0]->port()));
  uint32_t mark = HighestMsgId(*db, true, kGroup, 0);
  for (uint32_t u = 1; u <= 10; ++u) {
    IM::Message::IMMsgDataReadAck ack;
    ack.set_user_id(u);
    ack.set_session_id(kGroup);
    ack.set_msg_id(mark);
    ack.set_session_type(IM::BaseDefine::SESSION_TYPE_GROUP);
    ASSERT_TRUE(reader.SendFrame(3, 0x0303, 900 + u, ack.SerializeAsString()));
    ledger.RecordRead(u, true, kGroup, mark);
  }
  std::printf(
      "[ cluster ] %d daemons: %ld answered (%.0f msg/s), %ld msg_id 0, %ld unanswered, max "
      "latency %ld ms, %.1f s\n",
      daemons, total.answered, total.answered / seconds, total.zero, total.unanswered, total.max_ms,
      seconds);
  EXPECT_EQ(total.zero, 0);
  EXPECT_EQ(total.unanswered, 0);
  EXPECT_GT(total.answered, 100);
  CheckEventually(*db, *redis, ledger);
  for (auto& p : procs) {
    EXPECT_EQ(p->Stop(), 0);
  }
}

// The checker itself finds what it is meant to find: a send answered but not stored, a row
// no send made, a duplicate relation, a gap, and a counter behind its rows.
TEST(InvariantCheckerTest, ReportsLostStrayAndDuplicateData) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  db->Exec(
      "INSERT INTO IMRelationShip (smallId, bigId, status, created, updated) VALUES "
      "(5, 6, 0, 1, 1), (5, 6, 0, 1, 1)");
  uint32_t rid = static_cast<uint32_t>(
      std::stoul(db->QueryValue("SELECT MIN(id) FROM IMRelationShip").value_or("0")));
  db->Exec("INSERT INTO IMMessage_" + std::to_string(rid % 8) +
           " (relateId, fromId, toId, msgId, content, status, type, created, updated) VALUES (" +
           std::to_string(rid) + ", 5, 6, 2, 'stray', 0, 1, 1, 1)");
  Ledger ledger;
  ledger.RecordSend({false, 5, 6, "lost", Outcome::kAnswered, 1});
  std::string all;
  for (const std::string& p : Check(*db, *redis, ledger)) {
    all += p + "\n";
  }
  for (const char* expected :
       {"I1:", "I3:", "I4:", "I5:", "I6:", "duplicate relation", "without its session"}) {
    EXPECT_NE(all.find(expected), std::string::npos) << expected << " not reported in:\n" << all;
  }
}

INSTANTIATE_TEST_SUITE_P(Daemons, SeveralProxiesTest, ::testing::Values(2, 3));

}  // namespace
}  // namespace dbproxy::testing::cluster
