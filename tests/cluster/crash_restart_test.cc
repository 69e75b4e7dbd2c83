// Scenario 2 of issue 12: `kill -9` of a dbproxyd under send load (shared pairs, the group,
// first contacts), restarted with the same config and port while the load goes on; then
// I1-I5 and "nothing half-written" (tests/cluster/invariants.h): sends that got no answer
// may or may not be stored, but at most once, without gaps, and a stored message always
// has its relation's sessions. With two daemons the other one keeps serving meanwhile.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/cluster/invariants.h"
#include "tests/cluster/send_load.h"
#include "tests/support/child_process.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing::cluster {
namespace {

constexpr int kThreadsPerDaemon = 3;
constexpr int kKills = 2;
constexpr auto kLoadBetweenKills = std::chrono::milliseconds(1200);
constexpr auto kDownTime = std::chrono::milliseconds(300);
constexpr int kCallTimeoutMs = 10000;

DaemonOptions CrashOptions(uint16_t port) {
  DaemonOptions options;
  options.plugins = {"message", "unread", "session", "group_member"};
  options.workers = 4;
  options.listen = {"127.0.0.1:" + std::to_string(port)};
  return options;
}

// One client thread: sends one request at a time until *stop; a call without an answer
// (the daemon died) is recorded as kUnanswered and the client reconnects, retrying every
// 20 ms while the daemon is down.
void Load(int daemon, uint16_t port, int index, const std::atomic<bool>* stop, Ledger* ledger,
          Timeline* timeline) {
  const std::string tag = "d" + std::to_string(daemon) + " t" + std::to_string(index);
  WireClient client;
  bool connected = false;
  for (int n = 0; !stop->load();) {
    if (!connected) {
      client.Close();
      connected = client.Connect(port, 500);
      if (!connected) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
    }
    SendRecord send = NthSend(tag, n, index * 1000);
    Sample sample;
    sample.daemon = daemon;
    sample.sent = Clock::now();
    std::optional<WireClient::Frame> answer =
        client.Call(3, kMsgData, EncodeSend(send, n), kCallTimeoutMs);
    sample.done = Clock::now();
    std::optional<uint32_t> id = answer ? AnsweredMsgId(answer->body) : std::nullopt;
    if (!id) {
      connected = false;
    } else {
      send.outcome = *id == 0 ? Outcome::kAnsweredZero : Outcome::kAnswered;
      send.msg_id = *id;
    }
    sample.outcome = send.outcome;
    ledger->RecordSend(send);
    timeline->Record(sample);
    ++n;
  }
}

// How many unanswered sends of the ledger are stored (each at most once: Check() says so).
std::pair<long, long> UnansweredStored(TestDatabase& db, const Ledger& ledger) {
  long unanswered = 0;
  long stored = 0;
  for (const SendRecord& s : ledger.sends()) {
    if (s.outcome != Outcome::kUnanswered) {
      continue;
    }
    ++unanswered;
    std::string quoted = "'" + s.content + "'";  // contents are "d0 t1 n23": nothing to escape
    std::string count = "0";
    for (int shard = 0; shard < 8 && count == "0"; ++shard) {
      count = db.QueryValue(std::string("SELECT COUNT(*) FROM ") +
                            (s.group ? "IMGroupMessage_" : "IMMessage_") + std::to_string(shard) +
                            " WHERE content = " + quoted)
                  .value_or("0");
    }
    stored += count != "0" ? 1 : 0;
  }
  return {unanswered, stored};
}

class CrashRestartTest : public ::testing::TestWithParam<int> {};

TEST_P(CrashRestartTest, KillNineUnderLoadThenRestartKeepsI1ToI5) {
  const int daemons = GetParam();
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  std::vector<std::unique_ptr<DaemonProcess>> procs;
  std::vector<DaemonOptions> options;
  for (int d = 0; d < daemons; ++d) {
    options.push_back(CrashOptions(PickFreeLoopbackPort()));
    procs.push_back(std::make_unique<DaemonProcess>());
    ASSERT_TRUE(procs.back()->Start(*db, *redis, options.back()));
  }

  Ledger ledger;
  Timeline timeline;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const Clock::time_point start = Clock::now();
  for (int d = 0; d < daemons; ++d) {
    for (int t = 0; t < kThreadsPerDaemon; ++t) {
      threads.emplace_back(Load, d, procs[d]->port(), d * kThreadsPerDaemon + t, &stop, &ledger,
                           &timeline);
    }
  }
  std::vector<Clock::time_point> kills;
  std::vector<Clock::time_point> readies;
  for (int k = 0; k < kKills; ++k) {
    std::this_thread::sleep_for(kLoadBetweenKills);
    kills.push_back(Clock::now());
    procs[0]->Signal(SIGKILL);
    EXPECT_EQ(procs[0]->WaitExit(5000), 128 + SIGKILL);
    std::this_thread::sleep_for(kDownTime);
    if (!procs[0]->Start(*db, *redis, options[0])) {
      stop = true;
      break;
    }
    readies.push_back(Clock::now());
  }
  std::this_thread::sleep_for(kLoadBetweenKills);
  stop = true;
  for (std::thread& t : threads) {
    t.join();
  }
  const Clock::time_point end = Clock::now();
  ASSERT_EQ(readies.size(), static_cast<size_t>(kKills)) << "dbproxyd did not come back";

  // Only calls that met a kill fail: made to the killed daemon before it was ready again (on
  // a connection it had when killed: a call sent as it died meets a reset) and ended at or
  // after the kill. Nothing is ever answered msg_id 0.
  for (const Sample& s : timeline.samples()) {
    EXPECT_NE(s.outcome, Outcome::kAnsweredZero) << "a send was answered msg_id 0";
    if (s.outcome != Outcome::kUnanswered) {
      continue;
    }
    bool in_flight = false;
    for (size_t k = 0; k < kills.size(); ++k) {
      in_flight = in_flight || (s.daemon == 0 && s.done >= kills[k] && s.sent < readies[k]);
    }
    EXPECT_TRUE(in_flight)
        << "daemon " << s.daemon << " left a send unanswered "
        << std::chrono::duration_cast<std::chrono::milliseconds>(s.sent - start).count()
        << " ms into the run without being killed then";
  }

  // Report phases: before the first kill, each fault (kill to ready again, plus the calls
  // sent in the 0.2 s before it, which were mostly in flight), after each restart.
  const auto kInFlight = std::chrono::milliseconds(200);
  Timeline::Window before = timeline.Between(start, kills.front() - kInFlight);
  std::printf("[ crash ] %d daemon(s), %d x kill -9 of daemon 0, down %lld ms each\n", daemons,
              kKills, static_cast<long long>(kDownTime.count()));
  std::printf("[ crash ] %s\n", Describe("before", before).c_str());
  EXPECT_GT(before.answered, 0);
  for (int k = 0; k < kKills; ++k) {
    Timeline::Window fault = timeline.Between(kills[k] - kInFlight, readies[k]);
    long down_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(readies[k] - kills[k]).count();
    std::printf("[ crash ] %s (kill to ready %ld ms)\n",
                Describe("fault " + std::to_string(k + 1), fault).c_str(), down_ms);
    if (daemons > 1) {
      Timeline::Window other = timeline.Between(kills[k], readies[k], 1);
      std::printf("[ crash ] %s\n", Describe("  daemon 1 meanwhile", other).c_str());
      EXPECT_GT(other.answered, 0) << "the daemon that was not killed stopped serving";
    }
    Timeline::Window recovered =
        timeline.Between(readies[k], k + 1 < kKills ? kills[k + 1] - kInFlight : end);
    std::printf("[ crash ] %s\n",
                Describe("after restart " + std::to_string(k + 1), recovered).c_str());
    EXPECT_GT(recovered.answered, 0) << "the load did not continue after the restart";
  }

  auto [unanswered, stored] = UnansweredStored(*db, ledger);
  std::printf("[ crash ] %ld sends unanswered in all, %ld of them stored; %zu answered\n",
              unanswered, stored, ledger.answered());
  EXPECT_GT(unanswered, 0) << "no send was in flight at a kill: the test did not test a crash";
  CheckOptions checks;
  checks.unread = false;  // I6 is repaired by issue 12's outage work, not promised after kill -9
  CheckEventually(*db, *redis, ledger, 10000, checks);
  for (auto& p : procs) {
    EXPECT_EQ(p->Stop(), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Daemons, CrashRestartTest, ::testing::Values(1, 2));

// The narrow window of the test above, made certain: the first message of a pair is
// committed while its sessions cannot be written yet (the test holds the named lock that
// creating them takes), and the daemon is killed right then. After the restart the pair
// must not be half-written: either no message, or a message with both sessions.
TEST(CrashAfterCommitTest, FirstMessageNeverStoredWithoutItsSessions) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  DaemonOptions options = CrashOptions(PickFreeLoopbackPort());
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(*db, *redis, options));

  const uint32_t from = 950;
  const uint32_t to = 960;
  ASSERT_EQ(db->QueryValue("SELECT GET_LOCK(CONCAT('dbproxy.sess." + std::to_string(from) + "." +
                           std::to_string(to) + "', '@', DATABASE()), 5)"),
            "1");
  Ledger ledger;
  SendRecord send;
  send.from = from;
  send.to = to;
  send.content = "first contact before the crash";
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon.port()));
  std::optional<WireClient::Frame> answer = client.Call(3, kMsgData, EncodeSend(send, 1), 800);
  if (answer) {
    std::optional<uint32_t> id = AnsweredMsgId(answer->body);
    ASSERT_TRUE(id.has_value());
    send.outcome = *id == 0 ? Outcome::kAnsweredZero : Outcome::kAnswered;
    send.msg_id = *id;
  }
  ledger.RecordSend(send);
  daemon.Signal(SIGKILL);
  EXPECT_EQ(daemon.WaitExit(5000), 128 + SIGKILL);
  db->Query("SELECT RELEASE_ALL_LOCKS()");
  std::printf("[ crash ] first message %s when killed; stored rows: %s\n",
              answer ? "answered" : "in flight",
              HighestMsgId(*db, false, from, to) == 0 ? "none" : "yes");

  // After the restart, before anything else touches the pair: complete or absent.
  ASSERT_TRUE(daemon.Start(*db, *redis, options));
  CheckOptions checks;
  checks.unread = false;  // the message's unread increment may be lost with the process
  CheckEventually(*db, *redis, ledger, 3000, checks);

  // And the restarted daemon serves the pair.
  ASSERT_TRUE(client.Connect(daemon.port()));
  SendRecord again = send;
  again.content = "second message after the restart";
  answer = client.Call(3, kMsgData, EncodeSend(again, 2), 10000);
  ASSERT_TRUE(answer.has_value());
  std::optional<uint32_t> id = AnsweredMsgId(answer->body);
  ASSERT_TRUE(id.has_value());
  EXPECT_GT(*id, 0u);
  again.outcome = Outcome::kAnswered;
  again.msg_id = *id;
  ledger.RecordSend(again);
  CheckEventually(*db, *redis, ledger, 10000, checks);
  EXPECT_EQ(daemon.Stop(), 0);
}

// Sends one text message and returns its msg_id (0 and a test failure if unanswered).
uint32_t SendOne(WireClient& client, uint32_t from, uint32_t to, const std::string& content) {
  SendRecord send;
  send.from = from;
  send.to = to;
  send.content = content;
  std::optional<WireClient::Frame> answer = client.Call(3, kMsgData, EncodeSend(send, 1), 10000);
  std::optional<uint32_t> id = answer ? AnsweredMsgId(answer->body) : std::nullopt;
  EXPECT_TRUE(id.has_value()) << "no answer to " << content;
  return id.value_or(0);
}

// What a process leaves when it dies between COMMIT and raising the msgId counters (the
// window the load test above hits now and then): rows stored, the counter behind them, the
// debt recorded before COMMIT. A running daemon settles it within its repair interval; a
// debt above what is stored (a transaction that never committed) raises nothing and stays
// until a commit reaches it.
TEST(CrashAfterCommitTest, OwedCountersAreRaisedToTheStoredMessages) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(*db, *redis, CrashOptions(PickFreeLoopbackPort())));
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon.port()));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_EQ(SendOne(client, 970, 980, "owed " + std::to_string(i)), static_cast<uint32_t>(i));
  }
  ASSERT_EQ(SendOne(client, 971, 981, "never owed more"), 1u);
  auto relation = [&](int small, int big) {
    return db
        ->QueryValue("SELECT id FROM IMRelationShip WHERE smallId = " + std::to_string(small) +
                     " AND bigId = " + std::to_string(big))
        .value_or("0");
  };
  const std::string behind = "msg_id_" + relation(970, 980);
  const std::string ahead = "msg_id_" + relation(971, 981);
  const int u = redis->db("unread");
  const char* owed = "dbproxy_msg_id_owed";
  ASSERT_EQ(redis->Command(u, "ZCARD", owed).integer, 0) << "debts left after answered sends";
  redis->Command(u, "SET", behind, "1");
  redis->Command(u, "ZADD", owed, "3", behind);
  redis->Command(u, "ZADD", owed, "5", ahead);

  const Clock::time_point start = Clock::now();
  while (redis->Command(u, "GET", behind).str != "3" &&
         Clock::now() - start < std::chrono::seconds(8)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const long ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  std::printf("[ crash ] an owed counter was raised %ld ms after the debt appeared\n", ms);
  EXPECT_EQ(redis->Command(u, "GET", behind).str, "3");
  EXPECT_EQ(redis->Command(u, "ZSCORE", owed, behind).type, RedisReply::Type::kNil);
  EXPECT_EQ(redis->Command(u, "GET", ahead).str, "1") << "raised past the stored messages";
  EXPECT_EQ(redis->Command(u, "ZSCORE", owed, ahead).str, "5");
  EXPECT_NE(daemon.ReadLog().find("msgId counters that a process left behind"), std::string::npos);
  // Ids continue after the stored maximum, not after the debt.
  EXPECT_EQ(SendOne(client, 970, 980, "owed 4"), 4u);
  EXPECT_EQ(SendOne(client, 971, 981, "after the debt"), 2u);
  EXPECT_EQ(daemon.Stop(), 0);
}

}  // namespace
}  // namespace dbproxy::testing::cluster
