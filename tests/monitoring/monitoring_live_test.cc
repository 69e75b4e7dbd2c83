// The shipped monitoring against a live dbproxyd: `promtool check metrics` on /metrics scraped
// while clients load the daemon, and every metric the shipped alert rules and Grafana dashboard
// query must be one the daemon exports. Real TCP, real MariaDB and Redis, real promtool.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/http_get.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kService = 7;
const std::string kMonitoringDir = std::string(DBPROXY_SOURCE_DIR) + "/packaging/monitoring";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command; returns its exit status and puts stdout+stderr in *out.
int RunShell(const std::string& cmd, std::string* out) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    return -1;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
    out->append(buf, n);
  }
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Every dbproxy_* name in a rules file or dashboard.
std::set<std::string> QueriedMetrics(const std::string& text) {
  std::set<std::string> names;
  std::regex re("dbproxy_[a-z0-9_]+");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    names.insert(it->str());
  }
  return names;
}

// Sample names of an exposition (the first token of every non-comment line).
std::set<std::string> ExportedSamples(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    names.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

class MonitoringLiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
  }
  static void TearDownTestSuite() {
    delete db_;
    delete redis_;
  }

  void SetUp() override {
    ASSERT_NE(nullptr, db_);
    ASSERT_NE(nullptr, redis_);
    DaemonOptions o;
    o.plugins = {"test_echo"};
    o.plugin_dir = DBPROXY_TEST_PLUGIN_DIR;
    ASSERT_TRUE(daemon_.Start(*db_, *redis_, o));
  }

  // Clients that keep echo (0x7001), lookup (MySQL + Redis, 0x7003) and sleep (0x7005)
  // requests in flight until Stop(); each counts the replies it got.
  void StartLoad(int clients) {
    for (int i = 0; i < clients; ++i) {
      load_.emplace_back([this, i] {
        WireClient c;
        if (!c.Connect(daemon_.port())) {
          return;
        }
        for (int n = 0; !stop_.load(); ++n) {
          std::optional<WireClient::Frame> f;
          switch (n % 3) {
            case 0:
              f = c.Call(kService, 0x7001, "load" + std::to_string(i));
              break;
            case 1:
              f = c.Call(kService, 0x7003, "1");
              break;
            default:
              f = c.Call(kService, 0x7005, "2");
              break;
          }
          if (f) {
            replies_.fetch_add(1);
          }
        }
      });
    }
  }
  void StopLoad() {
    stop_ = true;
    for (auto& t : load_) {
      t.join();
    }
    load_.clear();
  }
  void TearDown() override { StopLoad(); }

  static TestDatabase* db_;
  static TestRedis* redis_;
  DaemonProcess daemon_;
  std::vector<std::thread> load_;
  std::atomic<bool> stop_{false};
  std::atomic<int> replies_{0};
};
TestDatabase* MonitoringLiveTest::db_ = nullptr;
TestRedis* MonitoringLiveTest::redis_ = nullptr;

// promtool parses and lints what a scrape under load returns: a format error, a duplicate
// family, a counter without _total or a missing HELP fails the test.
TEST_F(MonitoringLiveTest, PromtoolAcceptsTheEndpointUnderLoad) {
  StartLoad(4);
  std::string path = daemon_.dir() + "/scrape.prom";
  for (int scrape = 0; scrape < 3; ++scrape) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::string response = HttpGet(daemon_.metrics_port(), "/metrics");
    size_t body_at = response.find("\r\n\r\n");
    ASSERT_NE(std::string::npos, body_at) << response;
    // The content type Prometheus picks the text parser by.
    EXPECT_NE(std::string::npos,
              response.substr(0, body_at).find("Content-Type: text/plain; version=0.0.4"))
        << response;
    std::string m = response.substr(body_at + 4);
    ASSERT_NE(std::string::npos, m.find("dbproxy_requests_total{cmd=\"0x7003\"}")) << m;
    ASSERT_NE(std::string::npos, m.find("dbproxy_request_duration_seconds_bucket{cmd=\"0x7005\""))
        << m;
    { std::ofstream(path) << m; }
    std::string out;
    int rc = RunShell("promtool check metrics < " + path, &out);
    EXPECT_EQ(0, rc) << "promtool check metrics, scrape " << scrape << ":\n" << out << "\n" << m;
    EXPECT_EQ("", out) << m;
  }
  EXPECT_GT(replies_.load(), 30);
}

// Each metric a shipped alert rule or dashboard panel queries is exported by the daemon.
TEST_F(MonitoringLiveTest, RulesAndDashboardQueryOnlyExportedMetrics) {
  StartLoad(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::set<std::string> exported = ExportedSamples(HttpGet(daemon_.metrics_port(), "/metrics"));
  ASSERT_TRUE(exported.count("dbproxy_worker_queue_limit"));
  for (const char* file : {"dbproxy.rules.yml", "dbproxy-dashboard.json"}) {
    std::string text = ReadFile(kMonitoringDir + "/" + file);
    std::set<std::string> queried = QueriedMetrics(text);
    EXPECT_GE(queried.size(), 7u) << file;
    for (const auto& name : queried) {
      EXPECT_TRUE(exported.count(name)) << file << " queries " << name << ", not exported";
    }
  }
}

// The dashboard is the JSON Grafana imports, and shows what operators were promised.
TEST_F(MonitoringLiveTest, DashboardIsValidJsonWithThePromisedPanels) {
  std::string path = kMonitoringDir + "/dbproxy-dashboard.json";
  std::string out;
  ASSERT_EQ(0, RunShell("python3 -m json.tool " + path + " > /dev/null", &out)) << out;
  std::string text = ReadFile(path);
  for (const char* needle :
       {"dbproxy_requests_total", "dbproxy_request_errors_total", "histogram_quantile(0.99",
        "dbproxy_pool_connections", "dbproxy_worker_queue_depth", "dbproxy_connections",
        "dbproxy_reloads_total"}) {
    EXPECT_NE(std::string::npos, text.find(needle)) << needle;
  }
}

}  // namespace
}  // namespace dbproxy::testing
