// Replicas (issue 12): a real MariaDB primary and a real GTID replica (two PrivateMariadb
// processes on loopback), dbproxyd with teamtalk_master on the primary and teamtalk_slave on
// the replica. Reads that go to the slave pool must see what the same daemon just committed
// (read_your_writes), whether the replica is in sync, lagging (SQL thread stopped) or down;
// a control daemon without read_your_writes shows that the lag is real (its reads miss), so
// these tests can fail. A second test stops and restarts the replica under load: no request
// is lost and the invariants I1-I5 of tests/cluster/invariants.h hold. Both print what the
// wait and the fallback cost and how far the replica lags.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <mysql.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Group.pb.h"
#include "IM.Message.pb.h"
#include "tests/cluster/invariants.h"
#include "tests/support/daemon_process.h"
#include "tests/support/http_get.h"
#include "tests/support/private_mariadb.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing::cluster {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kWaitMs = 50;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A plain root connection to one private server, for replication control and probes
// (TestDatabase would create and load a database of its own). One thread at a time.
class ServerSql {
 public:
  explicit ServerSql(uint16_t port) : port_(port) { Connect(); }
  ~ServerSql() { mysql_close(mysql_); }
  ServerSql(const ServerSql&) = delete;
  ServerSql& operator=(const ServerSql&) = delete;

  void Connect() {
    if (mysql_ != nullptr) {
      mysql_close(mysql_);
    }
    mysql_ = mysql_init(nullptr);
    const unsigned timeout_s = 5;
    mysql_options(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
    mysql_options(mysql_, MYSQL_OPT_READ_TIMEOUT, &timeout_s);
    const TestEnv& env = TestEnv::Get();
    if (mysql_real_connect(mysql_, "127.0.0.1", "root", env.mysql_password.c_str(), nullptr, port_,
                           nullptr, 0) == nullptr) {
      ADD_FAILURE() << "connect to 127.0.0.1:" << port_ << ": " << mysql_error(mysql_);
    }
  }
  // The first column of the first row ("" for none, NULL or an error: the caller's
  // assertions then fail, with the error already reported).
  std::string Value(const std::string& sql, bool report = true) {
    if (mysql_query(mysql_, sql.c_str()) != 0) {
      if (report) {
        ADD_FAILURE() << sql << ": " << mysql_error(mysql_);
      }
      return "";
    }
    std::string value;
    if (MYSQL_RES* result = mysql_store_result(mysql_)) {
      MYSQL_ROW row = mysql_fetch_row(result);
      if (row != nullptr && row[0] != nullptr) {
        value = row[0];
      }
      mysql_free_result(result);
    }
    return value;
  }
  void Exec(const std::string& sql) { (void)Value(sql); }

 private:
  uint16_t port_;
  MYSQL* mysql_ = nullptr;
};

// The sequence number of domain 0 in a GTID list ("0-1-57" -> 57), 0 if absent.
uint64_t DomainZeroSeq(const std::string& list) {
  size_t at = 0;
  while (at < list.size()) {
    size_t end = list.find(',', at);
    std::string gtid = list.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (gtid.rfind("0-", 0) == 0) {
      return std::stoull(gtid.substr(gtid.rfind('-') + 1));
    }
    if (end == std::string::npos) {
      break;
    }
    at = end + 1;
  }
  return 0;
}

struct Latencies {
  std::vector<double> ms;
  void Add(double v) { ms.push_back(v); }
  std::string Summary() {
    if (ms.empty()) {
      return "no samples";
    }
    std::sort(ms.begin(), ms.end());
    double sum = 0;
    for (double v : ms) {
      sum += v;
    }
    char buf[160];
    std::snprintf(buf, sizeof(buf), "n=%zu mean %.2f ms, p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                  ms.size(), sum / ms.size(), ms[ms.size() / 2], ms[ms.size() * 99 / 100],
                  ms.back());
    return buf;
  }
};

// One series of the /metrics page (exact name and labels), 0 when absent.
double Metric(uint16_t metrics_port, const std::string& series) {
  const std::string page = HttpGet(metrics_port, "/metrics");
  size_t at = page.find("\n" + series + " ");
  return at == std::string::npos ? 0 : std::stod(page.substr(at + series.size() + 2));
}

std::string ReplicaMetrics(uint16_t metrics_port) {
  const std::string pool = "pool=\"teamtalk_slave\"";
  char buf[400];
  std::snprintf(
      buf, sizeof(buf),
      "replica reads %.0f, primary reads %.0f (fallbacks: lagging %.0f, down %.0f), waits "
      "%.0f (mean %.2f ms), waits skipped %.0f",
      Metric(metrics_port, "dbproxy_replica_reads_total{" + pool + ",served_by=\"replica\"}"),
      Metric(metrics_port, "dbproxy_replica_reads_total{" + pool + ",served_by=\"primary\"}"),
      Metric(metrics_port, "dbproxy_replica_fallbacks_total{" + pool + ",reason=\"lagging\"}"),
      Metric(metrics_port, "dbproxy_replica_fallbacks_total{" + pool + ",reason=\"down\"}"),
      Metric(metrics_port, "dbproxy_replica_gtid_wait_seconds_count{" + pool + "}"),
      1000 * Metric(metrics_port, "dbproxy_replica_gtid_wait_seconds_sum{" + pool + "}") /
          std::max(1.0,
                   Metric(metrics_port, "dbproxy_replica_gtid_wait_seconds_count{" + pool + "}")),
      Metric(metrics_port, "dbproxy_replica_gtid_waits_skipped_total{" + pool + "}"));
  return buf;
}

// A client of one daemon: sends and the reads that must see them.
class Client {
 public:
  explicit Client(uint16_t port) : port_(port) { EXPECT_TRUE(client_.Connect(port)); }

  // 0x0301; the answered msg_id, 0 for msg_id 0 or no answer (*answered says which).
  uint32_t Send(bool group, uint32_t from, uint32_t to, const std::string& content,
                bool* answered) {
    IM::Message::IMMsgData m;
    m.set_from_user_id(from);
    m.set_to_session_id(to);
    m.set_msg_id(0);
    m.set_create_time(1700000000u);
    m.set_msg_type(group ? IM::BaseDefine::MSG_TYPE_GROUP_TEXT
                         : IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
    m.set_msg_data(content);
    std::optional<WireClient::Frame> answer = client_.Call(3, 0x0301, m.SerializeAsString(), 10000);
    IM::Message::IMMsgData r;
    *answered = answer && r.ParseFromString(answer->body);
    if (!*answered) {
      (void)client_.Connect(port_);
      return 0;
    }
    return r.msg_id();
  }

  // 0x0309, newest first: true if the newest message the reader sees has msg_id.
  bool ListShows(bool group, uint32_t reader, uint32_t peer_or_group, uint32_t msg_id,
                 Latencies* latency) {
    IM::Message::IMGetMsgListReq req;
    req.set_user_id(reader);
    req.set_session_type(group ? IM::BaseDefine::SESSION_TYPE_GROUP
                               : IM::BaseDefine::SESSION_TYPE_SINGLE);
    req.set_session_id(peer_or_group);
    req.set_msg_id_begin(0);
    req.set_msg_cnt(5);
    Clock::time_point start = Clock::now();
    std::optional<WireClient::Frame> answer =
        client_.Call(3, 0x0309, req.SerializeAsString(), 10000);
    latency->Add(MsSince(start));
    IM::Message::IMGetMsgListRsp rsp;
    if (!answer || !rsp.ParseFromString(answer->body)) {
      (void)client_.Connect(port_);
      return false;
    }
    for (const auto& info : rsp.msg_list()) {
      if (info.msg_id() == msg_id) {
        return true;
      }
    }
    return false;
  }

  // 0x0405 then 0x0401: true if the creator's normal group list shows the new group.
  bool CreateGroupThenListShowsIt(uint32_t creator, const std::string& name, Latencies* latency) {
    IM::Group::IMGroupCreateReq create;
    create.set_user_id(creator);
    create.set_group_type(IM::BaseDefine::GROUP_TYPE_NORMAL);
    create.set_group_name(name);
    create.set_group_avatar("http://a/" + name);
    create.add_member_id_list(creator);
    create.add_member_id_list(creator + 1);
    IM::Group::IMGroupCreateRsp created;
    if (!client_.CallMessage(4, 0x0405, create, &created, 10000) || created.result_code() != 0) {
      ADD_FAILURE() << "group create failed: " << created.ShortDebugString();
      return false;
    }
    IM::Group::IMNormalGroupListReq list;
    list.set_user_id(creator);
    IM::Group::IMNormalGroupListRsp groups;
    Clock::time_point start = Clock::now();
    bool answered = client_.CallMessage(4, 0x0401, list, &groups, 10000);
    latency->Add(MsSince(start));
    if (!answered) {
      return false;
    }
    for (const auto& g : groups.group_version_list()) {
      if (g.group_id() == created.group_id()) {
        return true;
      }
    }
    return false;
  }

 private:
  uint16_t port_;
  WireClient client_;
};

class ReplicaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    primary_ =
        PrivateMariadb::Start({.extra_config = "server_id=1\nlog_bin=binlog\nbinlog_format=ROW\n"
                                               "gtid_strict_mode=1\n"})
            .release();
    replica_ = PrivateMariadb::Start({.extra_config = "server_id=2\ngtid_strict_mode=1\n"
                                                      "read_only=1\n"})
                   .release();
    ServerSql replica(replica_->port());
    replica.Exec("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=" +
                 std::to_string(primary_->port()) + ", MASTER_USER='root', MASTER_PASSWORD='" +
                 TestEnv::Get().mysql_password +
                 "', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1");
    replica.Exec("START SLAVE");
  }
  static void TearDownTestSuite() {
    delete replica_;
    delete primary_;
    replica_ = nullptr;
    primary_ = nullptr;
  }

  void SetUp() override {
    db_ = TestDatabase::Create(primary_->env());  // replicated: the replica gets it too
    redis_ = TestRedis::Create();
    primary_sql_ = std::make_unique<ServerSql>(primary_->port());
    replica_sql_ = std::make_unique<ServerSql>(replica_->port());
    WaitReplicaCaughtUp();
  }

  DaemonOptions Options(bool read_your_writes, const std::string& scope = "daemon") const {
    DaemonOptions options;
    options.plugins = {"message", "unread", "session", "group_member", "group_chat"};
    options.workers = 4;
    auto& slave = options.mysql_overrides["teamtalk_slave"];
    slave.port = replica_->port();
    if (read_your_writes) {
      slave.yaml =
          "read_your_writes: {primary: teamtalk_master, wait_ms: " + std::to_string(kWaitMs) +
          ", scope: " + scope + "}\n";
    }
    return options;
  }

  // gtid_binlog_pos on the primary minus gtid_slave_pos on the replica, in transactions.
  int64_t LagNow() {
    uint64_t primary = DomainZeroSeq(primary_sql_->Value("SELECT @@gtid_binlog_pos"));
    uint64_t replica = DomainZeroSeq(replica_sql_->Value("SELECT @@gtid_slave_pos"));
    return static_cast<int64_t>(primary) - static_cast<int64_t>(replica);
  }

  void WaitReplicaCaughtUp() {
    Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
    while (LagNow() != 0) {
      ASSERT_LT(Clock::now(), deadline)
          << "the replica did not catch up: " << replica_sql_->Value("SHOW SLAVE STATUS");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  static PrivateMariadb* primary_;
  static PrivateMariadb* replica_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<TestRedis> redis_;
  std::unique_ptr<ServerSql> primary_sql_;
  std::unique_ptr<ServerSql> replica_sql_;
};

PrivateMariadb* ReplicaTest::primary_ = nullptr;
PrivateMariadb* ReplicaTest::replica_ = nullptr;

// n rounds of "send, then list as the receiver" and every fifth round "create a group, then
// list the creator's groups"; returns the reads that missed the write.
int SendThenRead(Client* client, int n, int round_base, Latencies* list_latency,
                 Latencies* group_latency) {
  int misses = 0;
  for (int i = 0; i < n; ++i) {
    const int round = round_base + i;
    const uint32_t a = 101 + round % 40;
    const uint32_t b = 201 + round % 40;
    bool answered = false;
    uint32_t msg_id = client->Send(false, a, b, "rw " + std::to_string(round), &answered);
    EXPECT_TRUE(answered && msg_id > 0) << "round " << round;
    if (!client->ListShows(false, b, a, msg_id, list_latency)) {
      ++misses;
    }
    if (i % 5 == 0 && !client->CreateGroupThenListShowsIt(
                          300 + round % 100, "g" + std::to_string(round), group_latency)) {
      ++misses;
    }
  }
  return misses;
}

TEST_F(ReplicaTest, ReadsSeeTheDaemonsOwnWritesInSyncLaggingAndDown) {
  DaemonProcess on;
  ASSERT_TRUE(on.Start(*db_, *redis_, Options(true)));
  DaemonProcess off;
  ASSERT_TRUE(off.Start(*db_, *redis_, Options(false)));
  Client with(on.port());
  Client without(off.port());
  constexpr int kRounds = 60;

  // In sync. Without the feature reads may or may not miss (a race with replication);
  // with it, never.
  Latencies off_sync, off_sync_groups, on_sync, on_sync_groups;
  int off_sync_misses = SendThenRead(&without, kRounds, 0, &off_sync, &off_sync_groups);
  int on_sync_misses = SendThenRead(&with, kRounds, 1000, &on_sync, &on_sync_groups);
  EXPECT_EQ(on_sync_misses, 0);
  const std::string sync_metrics = ReplicaMetrics(on.metrics_port());

  // Lagging: the replica receives but does not apply.
  replica_sql_->Exec("STOP SLAVE SQL_THREAD");
  Latencies off_lag, off_lag_groups, on_lag, on_lag_groups;
  int off_lag_misses = SendThenRead(&without, kRounds, 2000, &off_lag, &off_lag_groups);
  int on_lag_misses = SendThenRead(&with, kRounds, 3000, &on_lag, &on_lag_groups);
  // The control: every read of the daemon without read_your_writes missed its write, so
  // the lag is real and the daemon with it got its answers from the primary.
  EXPECT_EQ(off_lag_misses, kRounds + kRounds / 5);
  EXPECT_EQ(on_lag_misses, 0);
  EXPECT_GT(Metric(on.metrics_port(),
                   "dbproxy_replica_fallbacks_total{pool=\"teamtalk_slave\",reason=\"lagging\"}"),
            0);
  const std::string lag_metrics = ReplicaMetrics(on.metrics_port());
  replica_sql_->Exec("START SLAVE SQL_THREAD");
  WaitReplicaCaughtUp();

  // Down: the replica's server is stopped. Let the lagging phase's backoff run out first,
  // or the first reads here still go to the primary as "lagging" without trying the replica
  // (ReplicaReads::kLaggingBackoffMs, 1 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  replica_->Stop();
  Latencies on_down, on_down_groups;
  int on_down_misses = SendThenRead(&with, kRounds, 4000, &on_down, &on_down_groups);
  EXPECT_EQ(on_down_misses, 0);
  EXPECT_GT(Metric(on.metrics_port(),
                   "dbproxy_replica_fallbacks_total{pool=\"teamtalk_slave\",reason=\"down\"}"),
            0);
  const std::string down_metrics = ReplicaMetrics(on.metrics_port());
  replica_->Restart();
  replica_sql_->Connect();
  WaitReplicaCaughtUp();

  // Back in sync after the restart: served by the replica again.
  const double replica_reads_before =
      Metric(on.metrics_port(),
             "dbproxy_replica_reads_total{pool=\"teamtalk_slave\",served_by=\"replica\"}");
  Latencies on_back, on_back_groups;
  EXPECT_EQ(SendThenRead(&with, kRounds / 2, 5000, &on_back, &on_back_groups), 0);
  EXPECT_GT(Metric(on.metrics_port(),
                   "dbproxy_replica_reads_total{pool=\"teamtalk_slave\",served_by=\"replica\"}"),
            replica_reads_before);

  std::printf(
      "[ replica ] message list right after a send (wait_ms %u):\n"
      "  in sync, read_your_writes off: %s; %d of %d reads missed the write\n"
      "  in sync, read_your_writes on:  %s; %d missed\n"
      "    %s\n"
      "  lagging (SQL thread stopped), off: %s; %d missed\n"
      "  lagging, on (fallback):        %s; %d missed\n"
      "    %s\n"
      "  replica down, on (fallback):   %s; %d missed\n"
      "    %s\n"
      "  after the replica's restart:   %s\n"
      "  group list after a create: in sync off %s | on %s | lagging on %s | down on %s\n",
      kWaitMs, off_sync.Summary().c_str(), off_sync_misses, kRounds + kRounds / 5,
      on_sync.Summary().c_str(), on_sync_misses, sync_metrics.c_str(), off_lag.Summary().c_str(),
      off_lag_misses, on_lag.Summary().c_str(), on_lag_misses, lag_metrics.c_str(),
      on_down.Summary().c_str(), on_down_misses, down_metrics.c_str(), on_back.Summary().c_str(),
      off_sync_groups.Summary().c_str(), on_sync_groups.Summary().c_str(),
      on_lag_groups.Summary().c_str(), on_down_groups.Summary().c_str());
  // The new series pass promtool's lint beside everything else on the page.
  const std::string page = HttpGet(on.metrics_port(), "/metrics");
  const std::string path = on.dir() + "/scrape.prom";
  std::ofstream(path) << page.substr(std::min(page.size(), page.find("\r\n\r\n") + 4));
  std::string lint;
  if (FILE* promtool = popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof(buf), promtool) != nullptr) {
      lint += buf;
    }
    EXPECT_EQ(pclose(promtool), 0) << lint;
  } else {
    ADD_FAILURE() << "cannot run promtool";
  }
  EXPECT_EQ(lint, "");
  EXPECT_NE(page.find("dbproxy_replica_gtid_wait_seconds_count{pool=\"teamtalk_slave\"}"),
            std::string::npos);
  EXPECT_EQ(on.Stop(), 0);
  EXPECT_EQ(off.Stop(), 0);
}

// scope: all: a daemon's replica reads see what ANOTHER dbproxyd committed (msg_server
// spreads requests over several proxies); scope: daemon, the control, does not.
TEST_F(ReplicaTest, ScopeAllSeesTheCommitsOfAnotherDaemon) {
  DaemonProcess writer, all, own;
  ASSERT_TRUE(writer.Start(*db_, *redis_, Options(false)));
  ASSERT_TRUE(all.Start(*db_, *redis_, Options(true, "all")));
  ASSERT_TRUE(own.Start(*db_, *redis_, Options(true, "daemon")));
  Client to_writer(writer.port()), to_all(all.port()), to_own(own.port());
  constexpr int kRounds = 30;
  auto rounds = [&](int base, Latencies* all_latency, int* all_misses, int* own_misses) {
    Latencies ignored;
    for (int i = 0; i < kRounds; ++i) {
      const uint32_t a = 101 + i % 10;
      const uint32_t b = 201 + i % 10;
      bool answered = false;
      uint32_t msg_id = to_writer.Send(false, a, b, "x " + std::to_string(base + i), &answered);
      EXPECT_TRUE(answered && msg_id > 0);
      *all_misses += to_all.ListShows(false, b, a, msg_id, all_latency) ? 0 : 1;
      *own_misses += to_own.ListShows(false, b, a, msg_id, &ignored) ? 0 : 1;
    }
  };
  Latencies sync_latency, lag_latency;
  int sync_all = 0, sync_own = 0, lag_all = 0, lag_own = 0;
  rounds(0, &sync_latency, &sync_all, &sync_own);
  replica_sql_->Exec("STOP SLAVE SQL_THREAD");
  rounds(100, &lag_latency, &lag_all, &lag_own);
  replica_sql_->Exec("START SLAVE SQL_THREAD");
  EXPECT_EQ(sync_all, 0);
  EXPECT_EQ(lag_all, 0);
  EXPECT_EQ(lag_own, kRounds);  // the control: another daemon's commits are not waited for
  std::printf(
      "[ replica ] another daemon's send, then a list (scope: all): in sync %s, %d missed "
      "(scope daemon missed %d); lagging %s, %d missed (scope daemon missed %d)\n  %s\n",
      sync_latency.Summary().c_str(), sync_all, sync_own, lag_latency.Summary().c_str(), lag_all,
      lag_own, ReplicaMetrics(all.metrics_port()).c_str());
  WaitReplicaCaughtUp();
  EXPECT_EQ(writer.Stop(), 0);
  EXPECT_EQ(all.Stop(), 0);
  EXPECT_EQ(own.Stop(), 0);
}

struct LoadStats {
  long answered = 0;
  long zero = 0;
  long unanswered = 0;
  long misses = 0;
  Latencies reads;
};

// One client thread: sends on its own pairs and the shared group, each followed by a list
// that must show it.
void SendAndReadLoad(uint16_t port, int thread, const std::atomic<bool>* stop, Ledger* ledger,
                     LoadStats* out) {
  Client client(port);
  for (int n = 0; !stop->load(); ++n) {
    SendRecord send;
    send.group = n % 4 == 3;
    if (send.group) {
      send.from = 1 + (n + thread) % 10;  // demo group 1 has members 1..10
      send.to = 1;
    } else {
      send.from = 101 + (thread * 10 + n % 10);
      send.to = send.from + 100;
    }
    send.content = "t" + std::to_string(thread) + " n" + std::to_string(n);
    bool answered = false;
    uint32_t msg_id = client.Send(send.group, send.from, send.to, send.content, &answered);
    send.outcome = !answered ? Outcome::kUnanswered
                             : (msg_id == 0 ? Outcome::kAnsweredZero : Outcome::kAnswered);
    send.msg_id = msg_id;
    ledger->RecordSend(send);
    ++(!answered ? out->unanswered : msg_id == 0 ? out->zero : out->answered);
    if (msg_id == 0) {
      continue;
    }
    const uint32_t reader = send.group ? send.from : send.to;
    const uint32_t peer = send.group ? 1 : send.from;
    if (!client.ListShows(send.group, reader, peer, msg_id, &out->reads)) {
      ++out->misses;
    }
  }
}

TEST_F(ReplicaTest, ReplicaStoppedAndRestartedUnderLoadLosesNoRequest) {
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(*db_, *redis_, Options(true)));
  constexpr int kThreads = 3;
  Ledger ledger;
  std::vector<LoadStats> stats(kThreads);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  Clock::time_point start = Clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(SendAndReadLoad, daemon.port(), t, &stop, &ledger, &stats[t]);
  }
  // The replica's lag under this load, sampled every 25 ms while it runs: before the stop
  // (steady state) and after the restart (catching up on what it missed while down).
  auto sample_for = [&](std::chrono::milliseconds span, std::vector<int64_t>* samples) {
    Clock::time_point end = Clock::now() + span;
    while (Clock::now() < end) {
      samples->push_back(LagNow());
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  };
  std::vector<int64_t> lag_before, lag_after;
  sample_for(std::chrono::milliseconds(2000), &lag_before);
  Clock::time_point stopped_at = Clock::now();
  replica_->Stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  replica_->Restart();
  const double outage_s = std::chrono::duration<double>(Clock::now() - stopped_at).count();
  replica_sql_->Connect();
  sample_for(std::chrono::milliseconds(2000), &lag_after);
  stop = true;
  for (std::thread& t : threads) {
    t.join();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  LoadStats total;
  for (LoadStats& s : stats) {
    total.answered += s.answered;
    total.zero += s.zero;
    total.unanswered += s.unanswered;
    total.misses += s.misses;
    total.reads.ms.insert(total.reads.ms.end(), s.reads.ms.begin(), s.reads.ms.end());
  }
  auto lag_text = [](const std::vector<int64_t>& samples) {
    int64_t max = 0;
    double sum = 0;
    size_t caught_up = 0;
    for (int64_t lag : samples) {
      max = std::max(max, lag);
      sum += static_cast<double>(lag);
      caught_up += lag == 0 ? 1 : 0;
    }
    char buf[160];
    std::snprintf(buf, sizeof(buf), "%zu samples, mean %.1f, max %lld, at 0 in %zu", samples.size(),
                  samples.empty() ? 0.0 : sum / samples.size(), static_cast<long long>(max),
                  caught_up);
    return std::string(buf);
  };
  std::printf(
      "[ replica ] stop/restart under load: %.1f s, %ld sends answered (%.0f/s), %ld msg_id 0, "
      "%ld unanswered, %ld reads missed their write; replica down %.1f s\n"
      "  reads: %s\n  %s\n"
      "  replica lag in transactions (gtid_binlog_pos - gtid_slave_pos, every 25 ms):\n"
      "    before the stop: %s\n    after the restart: %s\n",
      seconds, total.answered, total.answered / seconds, total.zero, total.unanswered, total.misses,
      outage_s, total.reads.Summary().c_str(), ReplicaMetrics(daemon.metrics_port()).c_str(),
      lag_text(lag_before).c_str(), lag_text(lag_after).c_str());
  EXPECT_EQ(total.unanswered, 0);
  EXPECT_EQ(total.zero, 0);
  EXPECT_EQ(total.misses, 0);
  EXPECT_GT(total.answered, 100);
  EXPECT_GT(Metric(daemon.metrics_port(),
                   "dbproxy_replica_fallbacks_total{pool=\"teamtalk_slave\",reason=\"down\"}"),
            0);
  WaitReplicaCaughtUp();
  CheckOptions options;
  options.unread = false;  // reads here are lists, not read acks: I6 is not what this tests
  CheckEventually(*db_, *redis_, ledger, 10000, options);
  EXPECT_EQ(daemon.Stop(), 0);
}

}  // namespace
}  // namespace dbproxy::testing::cluster
