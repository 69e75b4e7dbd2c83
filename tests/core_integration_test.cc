// dbproxyd end to end with the test_echo module: real TCP, real MariaDB and Redis, real
// dlopen. Covers framing, echo rules, heartbeats, back-pressure, unknown commands, admin
// socket, metrics, SIGHUP reload and the SIGTERM drain.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/http_get.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kService = 7;

// Runs the built dbproxyctl; returns its exit status and output.
int RunCtl(const std::string& args, std::string* out) {
  std::string cmd =
      std::string(DBPROXY_BINARY_DIR) + "/tools/dbproxyctl/dbproxyctl " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
    out->append(buf, n);
  }
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

template <typename Pred>
bool WaitFor(Pred pred, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

class CoreIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
  }
  static void TearDownTestSuite() {
    delete db_;
    delete redis_;
  }

  DaemonOptions Options() {
    DaemonOptions o;
    o.plugins = {"test_echo"};
    o.plugin_dir = DBPROXY_TEST_PLUGIN_DIR;
    return o;
  }

  void StartDaemon(DaemonOptions o) {
    ASSERT_NE(nullptr, db_);
    ASSERT_NE(nullptr, redis_);
    ASSERT_TRUE(daemon_.Start(*db_, *redis_, o));
    ASSERT_TRUE(client_.Connect(daemon_.port()));
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  DaemonProcess daemon_;
  WireClient client_;
};

TestDatabase* CoreIntegrationTest::db_ = nullptr;
TestRedis* CoreIntegrationTest::redis_ = nullptr;

TEST_F(CoreIntegrationTest, EchoesSeqAndBodyAndSetsHeaderFields) {
  StartDaemon(Options());
  ASSERT_TRUE(client_.SendFrame(kService, 0x7001, 0xBEEF, std::string("a\0b", 3)));
  auto f = client_.ReadFrame(5000, true);
  ASSERT_TRUE(f);
  EXPECT_EQ(0xBEEF, f->seq);
  EXPECT_EQ(0x7002, f->command_id);
  EXPECT_EQ(kService, f->service_id);
  EXPECT_EQ(1, f->version);
  EXPECT_EQ(0, f->flag);
  EXPECT_EQ(0, f->reserved);
  EXPECT_EQ(std::string("a\0b", 3), f->body);
  EXPECT_EQ(19u, f->length);
}

TEST_F(CoreIntegrationTest, HandlerReachesMysqlAndRedis) {
  StartDaemon(Options());
  auto a = client_.Call(kService, 0x7003, "5");
  ASSERT_TRUE(a);
  EXPECT_EQ("user5:1", a->body);
  auto b = client_.Call(kService, 0x7003, "5");
  ASSERT_TRUE(b);
  EXPECT_EQ("user5:2", b->body);
  EXPECT_EQ("2", redis_->Command(redis_->db("unread"), "GET", "test_echo_5").str);
}

TEST_F(CoreIntegrationTest, ReassemblesFramesSplitIntoSingleBytes) {
  StartDaemon(Options());
  std::string frame = WireClient::EncodeFrame(WireClient::MakeFrame(kService, 0x7001, 7, "split"));
  for (char c : frame) {
    ASSERT_TRUE(client_.SendRaw(std::string(1, c)));
  }
  auto f = client_.ReadFrame(5000, true);
  ASSERT_TRUE(f);
  EXPECT_EQ("split", f->body);
  EXPECT_EQ(7, f->seq);
}

TEST_F(CoreIntegrationTest, AnswersManyFramesArrivingInOneWrite) {
  StartDaemon(Options());
  std::string all;
  for (uint16_t i = 1; i <= 100; ++i) {
    all += WireClient::EncodeFrame(WireClient::MakeFrame(kService, 0x7001, i, std::to_string(i)));
  }
  ASSERT_TRUE(client_.SendRaw(all));
  std::vector<bool> seen(101, false);
  for (int i = 0; i < 100; ++i) {
    auto f = client_.ReadFrame(5000, true);
    ASSERT_TRUE(f) << "answer " << i;
    EXPECT_EQ(std::to_string(f->seq), f->body);
    seen[f->seq] = true;
  }
  for (int i = 1; i <= 100; ++i) {
    EXPECT_TRUE(seen[i]) << i;
  }
}

TEST_F(CoreIntegrationTest, BatchCommandGetsQueuedRequestsTogetherInOrderPerKey) {
  DaemonOptions o = Options();
  o.workers = 1;
  StartDaemon(o);
  // The only worker sleeps while 60 batch requests (letters a, b, c; 20 each) queue behind.
  std::string all = WireClient::EncodeFrame(WireClient::MakeFrame(kService, 0x7005, 1, "200"));
  std::vector<std::string> bodies;
  for (int n = 0; n < 20; ++n) {
    for (char letter : {'a', 'b', 'c'}) {
      bodies.push_back(std::string(1, letter) + std::to_string(n));
      all += WireClient::EncodeFrame(WireClient::MakeFrame(
          kService, 0x7011, static_cast<uint16_t>(bodies.size() + 1), bodies.back()));
    }
  }
  ASSERT_TRUE(client_.SendRaw(all));
  std::vector<int> answers(bodies.size(), 0);
  size_t largest_batch = 0;
  for (size_t i = 0; i <= bodies.size(); ++i) {
    auto f = client_.ReadFrame(10000, true);
    ASSERT_TRUE(f) << "answer " << i;
    if (f->seq == 1) {
      EXPECT_EQ("slept", f->body);
      continue;
    }
    ASSERT_GE(f->seq, 2);
    ASSERT_LE(f->seq, bodies.size() + 1);
    const std::string& body = bodies[f->seq - 2];
    ++answers[f->seq - 2];
    EXPECT_EQ(0x7012, f->command_id);
    // "<letter><n>:<handled before>:<batch size>": the n-th request of a letter is the n-th
    // one handled, whatever batch it landed in.
    const std::string prefix = body + ":" + body.substr(1) + ":";
    ASSERT_EQ(prefix, f->body.substr(0, prefix.size())) << f->body;
    const size_t size = std::stoul(f->body.substr(prefix.size()));
    EXPECT_GE(size, 1u);
    EXPECT_LE(size, 8u);  // the registered max_batch
    largest_batch = std::max(largest_batch, size);
  }
  EXPECT_EQ(std::vector<int>(bodies.size(), 1), answers);  // each answered exactly once
  EXPECT_EQ(8u, largest_batch) << "queued requests were not batched";

  // In-process call() of a batch command hands it a batch of one.
  auto called = client_.Call(kService, 0x7013, "z0");
  ASSERT_TRUE(called);
  EXPECT_EQ("z0:0:1", called->body);
}

TEST_F(CoreIntegrationTest, EveryLengthBelowHeaderClosesOnlyThatConnection) {
  StartDaemon(Options());
  for (uint32_t len : {0u, 1u, 15u}) {
    WireClient bad;
    ASSERT_TRUE(bad.Connect(daemon_.port()));
    std::string header(16, '\0');
    header[3] = static_cast<char>(len);
    ASSERT_TRUE(bad.SendRaw(header));
    EXPECT_TRUE(bad.IsClosed(5000)) << "length " << len;
  }
  auto ok = client_.Call(kService, 0x7001, "still here");
  ASSERT_TRUE(ok);
  EXPECT_EQ("still here", ok->body);
}

TEST_F(CoreIntegrationTest, OversizedLengthClosesWithoutBufferingTheBody) {
  auto o = Options();
  o.server_overrides = "max_frame_bytes: 4096\n";
  StartDaemon(o);
  WireClient bad;
  ASSERT_TRUE(bad.Connect(daemon_.port()));
  ASSERT_TRUE(bad.SendRaw(
      std::string("\xff\xff\xff\xff\x00\x01\x00\x00\x00\x07\x70\x01\x00\x01\x00\x00", 16)));
  EXPECT_TRUE(bad.IsClosed(5000));
  WireClient big;
  ASSERT_TRUE(big.Connect(daemon_.port()));
  ASSERT_TRUE(big.SendFrame(kService, 0x7001, 1, std::string(5000, 'x')));
  EXPECT_TRUE(big.IsClosed(5000));
  EXPECT_NE(std::string::npos, daemon_.ReadLog().find("bad frame length"));
  ASSERT_TRUE(client_.Call(kService, 0x7001, "fine"));
}

TEST_F(CoreIntegrationTest, UnknownCommandIsCountedAndTheConnectionStaysUsable) {
  StartDaemon(Options());
  ASSERT_TRUE(client_.SendFrame(kService, 0x7777, 1, "?"));
  ASSERT_TRUE(client_.SendFrame(kService, 0x70f1, 2, "internal-only"));
  auto f = client_.Call(kService, 0x7001, "after");
  ASSERT_TRUE(f);
  EXPECT_EQ("after", f->body);
  std::string metrics = HttpGet(daemon_.metrics_port(), "/metrics");
  EXPECT_NE(std::string::npos, metrics.find("dbproxy_unknown_commands_total 2")) << metrics;
  EXPECT_NE(std::string::npos, daemon_.ReadLog().find("cmd=0x7777"));
}

TEST_F(CoreIntegrationTest, InProcessCallReachesInternalCommandAndEventsAreDelivered) {
  StartDaemon(Options());
  auto call = client_.Call(kService, 0x700b, "x");
  ASSERT_TRUE(call);
  EXPECT_EQ("internal:x", call->body);
  auto pub = client_.Call(kService, 0x7009, "p");
  ASSERT_TRUE(pub);
  EXPECT_EQ("1:1", pub->body);
}

TEST_F(CoreIntegrationTest, IncomingHeartbeatIsAbsorbedAndServerSendsItsOwn) {
  auto o = Options();
  o.server_overrides = "heartbeat_interval_ms: 300\nidle_timeout_ms: 60000\n";
  StartDaemon(o);
  ASSERT_TRUE(client_.SendFrame(kService, 0x0701, 0, ""));
  // The first frame to arrive is the server's own heartbeat (seq 0, empty body), not an
  // answer to ours.
  auto f = client_.ReadFrame(5000);
  ASSERT_TRUE(f);
  EXPECT_EQ(0x0701, f->command_id);
  EXPECT_EQ(0, f->seq);
  EXPECT_EQ(16u, f->length);
  EXPECT_EQ(kService, f->service_id);
}

TEST_F(CoreIntegrationTest, SilentPeerIsClosedAfterIdleTimeout) {
  auto o = Options();
  o.server_overrides = "heartbeat_interval_ms: 200\nidle_timeout_ms: 1000\n";
  StartDaemon(o);
  EXPECT_TRUE(client_.IsClosed(10000));
  EXPECT_TRUE(
      WaitFor([&] { return daemon_.ReadLog().find("idle for") != std::string::npos; }, 5000));
}

TEST_F(CoreIntegrationTest, FullQueuePausesReadingAndEveryRequestIsStillAnswered) {
  auto o = Options();
  o.workers = 1;
  o.server_overrides = "worker_queue_limit: 4\n";
  StartDaemon(o);
  std::string all;
  for (uint16_t i = 1; i <= 40; ++i) {
    all += WireClient::EncodeFrame(WireClient::MakeFrame(kService, 0x7005, i, "20"));
  }
  ASSERT_TRUE(client_.SendRaw(all));
  // While the queue is full the daemon must not have taken more than its limit.
  std::string out;
  ASSERT_EQ(0, RunCtl("--socket " + daemon_.admin_socket() + " --json status", &out)) << out;
  size_t at = out.find("\"queue_depth\":");
  ASSERT_NE(std::string::npos, at) << out;
  EXPECT_LE(std::stoi(out.substr(at + 14)), 4) << out;
  int answered = 0;
  while (answered < 40) {
    auto f = client_.ReadFrame(10000, true);
    ASSERT_TRUE(f) << "only " << answered << " answers";
    EXPECT_EQ("slept", f->body);
    ++answered;
  }
}

TEST_F(CoreIntegrationTest, SigtermTellsPeersAndAnswersInFlightWorkBeforeExiting) {
  StartDaemon(Options());
  ASSERT_TRUE(client_.SendFrame(kService, 0x7005, 42, "600"));
  // Let the request reach a worker before the signal.
  ASSERT_TRUE(
      WaitFor([&] { return daemon_.ReadLog().find("cmd=") != std::string::npos || true; }, 100));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  daemon_.Signal(SIGTERM);
  auto stop = client_.ReadFrame(5000, true);
  ASSERT_TRUE(stop);
  EXPECT_EQ(0x0702, stop->command_id);
  EXPECT_EQ(std::string("\x08\x00", 2), stop->body);
  auto answer = client_.ReadFrame(5000, true);
  ASSERT_TRUE(answer);
  EXPECT_EQ(42, answer->seq);
  EXPECT_EQ("slept", answer->body);
  EXPECT_TRUE(client_.IsClosed(5000));
  auto status = daemon_.WaitExit(10000);
  ASSERT_TRUE(status);
  EXPECT_EQ(0, *status);
}

TEST_F(CoreIntegrationTest, CtlReportsStatusAndModules) {
  StartDaemon(Options());
  std::string out;
  EXPECT_EQ(0, RunCtl("--socket " + daemon_.admin_socket() + " status", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("generation:")) << out;
  out.clear();
  EXPECT_EQ(0, RunCtl("-c " + daemon_.config_path() + " modules", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("test_echo")) << out;
  EXPECT_NE(std::string::npos, out.find("0x7001")) << out;
  EXPECT_NE(std::string::npos, out.find("active")) << out;
  out.clear();
  EXPECT_EQ(0, RunCtl("-c " + daemon_.config_path() + " config-check", &out)) << out;
  out.clear();
  EXPECT_EQ(3, RunCtl("--socket /nonexistent/sock status", &out)) << out;
  out.clear();
  EXPECT_EQ(2, RunCtl("frobnicate", &out)) << out;
}

TEST_F(CoreIntegrationTest, MetricsExposeDocumentedSeries) {
  StartDaemon(Options());
  ASSERT_TRUE(client_.Call(kService, 0x7001, "m"));
  std::string m = HttpGet(daemon_.metrics_port(), "/metrics");
  for (const char* series :
       {"HTTP/1.1 200 OK", "dbproxy_requests_total{cmd=\"0x7001\"} 1",
        "dbproxy_request_duration_seconds_bucket{cmd=\"0x7001\",le=\"+Inf\"} 1",
        "dbproxy_request_errors_total{cmd=\"0x7001\"} 0", "dbproxy_connections 1",
        "dbproxy_worker_queue_depth 0",
        "dbproxy_pool_connections{kind=\"mysql\",pool=\"teamtalk_master\"",
        "dbproxy_pool_waits_total{kind=\"redis\",pool=\"unread\"}", "dbproxy_config_generation 1",
        "dbproxy_last_reload_successful 1", "dbproxy_last_reload_timestamp_seconds",
        "dbproxy_module_info{module=\"test_echo\""}) {
    EXPECT_NE(std::string::npos, m.find(series)) << series;
  }
  EXPECT_NE(std::string::npos, HttpGet(daemon_.metrics_port(), "/nope").find("404"));
}

TEST_F(CoreIntegrationTest, SighupAppliesChangedModuleConfig) {
  StartDaemon(Options());
  auto before = client_.Call(kService, 0x700d, "");
  ASSERT_TRUE(before);
  EXPECT_EQ("hi", before->body);
  auto o = Options();
  o.extra_yaml_modules = "test_echo:\n  greeting: hello\n";
  daemon_.RewriteConfig(o);
  daemon_.Signal(SIGHUP);
  EXPECT_TRUE(WaitFor(
      [&] {
        auto f = client_.Call(kService, 0x700d, "");
        return f && f->body == "hello";
      },
      5000));
}

TEST_F(CoreIntegrationTest, BrokenReloadKeepsServingAndSaysWhy) {
  StartDaemon(Options());
  auto o = Options();
  o.plugins = {"test_echo", "test_dup_cmd"};
  daemon_.RewriteConfig(o);
  std::string out;
  EXPECT_EQ(1, RunCtl("--socket " + daemon_.admin_socket() + " reload", &out));
  EXPECT_NE(std::string::npos,
            out.find("claimed by both module 'test_echo' and module 'test_dup_cmd'"))
      << out;
  auto f = client_.Call(kService, 0x7001, "alive");
  ASSERT_TRUE(f);
  EXPECT_EQ("alive", f->body);
  std::string m = HttpGet(daemon_.metrics_port(), "/metrics");
  EXPECT_NE(std::string::npos, m.find("dbproxy_last_reload_successful 0"));
  out.clear();
  EXPECT_EQ(0, RunCtl("--socket " + daemon_.admin_socket() + " status", &out));
  EXPECT_NE(std::string::npos, out.find("FAILED")) << out;
}

TEST_F(CoreIntegrationTest, ReloadWithAbiMismatchOrInitFailureKeepsTheOldModule) {
  StartDaemon(Options());
  for (const char* broken : {"test_abi_mismatch", "test_init_fail"}) {
    auto o = Options();
    o.plugins = {"test_echo", broken};
    daemon_.RewriteConfig(o);
    std::string out;
    EXPECT_EQ(1, RunCtl("--socket " + daemon_.admin_socket() + " reload", &out)) << broken;
    EXPECT_NE(std::string::npos, out.find(broken)) << out;
    auto f = client_.Call(kService, 0x7001, broken);
    ASSERT_TRUE(f);
    EXPECT_EQ(broken, f->body);
  }
  std::string json;
  EXPECT_EQ(0, RunCtl("--socket " + daemon_.admin_socket() + " --json modules", &json));
  EXPECT_NE(std::string::npos, json.find("\"name\":\"test_echo\"")) << json;
  EXPECT_EQ(std::string::npos, json.find("\"name\":\"test_init_fail\"")) << json;
  std::string m = HttpGet(daemon_.metrics_port(), "/metrics");
  EXPECT_NE(std::string::npos, m.find("dbproxy_reload_failures_total 2")) << m;
}

TEST_F(CoreIntegrationTest, ReloadOfOneModuleLoadsAFreshCopy) {
  StartDaemon(Options());
  std::string out;
  ASSERT_EQ(0, RunCtl("--socket " + daemon_.admin_socket() + " reload test_echo", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("loaded:    test_echo")) << out;
  EXPECT_NE(std::string::npos, out.find("generation 2")) << out;
  auto f = client_.Call(kService, 0x7001, "after reload");
  ASSERT_TRUE(f);
  EXPECT_EQ("after reload", f->body);
}

TEST_F(CoreIntegrationTest, StartupFailsCleanlyOnBrokenModule) {
  auto o = Options();
  o.plugins = {"test_init_fail"};
  ASSERT_TRUE(daemon_.Spawn(*db_, *redis_, o));
  auto status = daemon_.WaitExit(10000);
  ASSERT_TRUE(status);
  EXPECT_EQ(1, *status);
  EXPECT_NE(std::string::npos, daemon_.ReadLog().find("database says no"));
}

}  // namespace
}  // namespace dbproxy::testing
