// dbproxy-bench end to end: the real binary against a real dbproxyd (message and unread
// modules), MariaDB and Redis, for about two seconds. Checks that the numbers it reports
// agree with what the server stored.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"

namespace dbproxy::testing {
namespace {

struct BenchOutput {
  int exit_status = -1;
  std::string json;
};

// Runs dbproxy-bench with args (plus --json and the daemon's port) and collects stdout.
BenchOutput RunBench(uint16_t port, std::vector<std::string> args) {
  args.insert(args.begin(), DBPROXY_BENCH_BINARY);
  args.push_back("--port");
  args.push_back(std::to_string(port));
  args.push_back("--json");
  std::string command;
  for (const std::string& arg : args) {
    command += "'" + arg + "' ";
  }
  BenchOutput output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    return output;
  }
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    output.json.append(buffer.data(), n);
  }
  const int status = pclose(pipe);
  output.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

// The number after "<key>": in the object that follows "<section>": — enough for the
// report's fixed layout, where a section's own fields come before its nested objects.
double Number(const std::string& json, std::string_view section, std::string_view key) {
  const size_t at = json.find("\"" + std::string(section) + "\":{");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no section " << section << " in " << json;
    return -1;
  }
  const std::string needle = "\"" + std::string(key) + "\":";
  const size_t field = json.find(needle, at);
  if (field == std::string::npos) {
    ADD_FAILURE() << "no " << key << " in section " << section << " of " << json;
    return -1;
  }
  return std::stod(json.substr(field + needle.size()));
}

class BenchSmokeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    daemon_ = new DaemonProcess();
    DaemonProcess::Options options;
    options.plugins = {"message", "unread"};
    options.workers = 4;
    ASSERT_TRUE(daemon_->Start(*db_, *redis_, options));
  }
  static void TearDownTestSuite() {
    delete daemon_;
    delete redis_;
    delete db_;
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  static DaemonProcess* daemon_;
};

TestDatabase* BenchSmokeTest::db_ = nullptr;
TestRedis* BenchSmokeTest::redis_ = nullptr;
DaemonProcess* BenchSmokeTest::daemon_ = nullptr;

TEST_F(BenchSmokeTest, SendExistingStoresEveryMessageItCountsAsGood) {
  const BenchOutput out =
      RunBench(daemon_->port(), {"--scenario", "send-existing", "--users", "1-20", "--connections",
                                 "2", "--inflight", "8", "--warmup", "0.2", "--duration", "1"});
  ASSERT_EQ(out.exit_status, 0) << out.json;
  EXPECT_EQ(Number(out.json, "prepare", "sent"), 10);  // one message per pair (1,2) .. (19,20)
  EXPECT_EQ(Number(out.json, "prepare", "failed"), 0);
  const double measured_ok = Number(out.json, "measured", "ok");
  EXPECT_GT(measured_ok, 0);
  EXPECT_EQ(Number(out.json, "measured", "failed"), 0);
  EXPECT_GT(Number(out.json, "measured", "throughput_rps"), 0);
  EXPECT_EQ(Number(out.json, "connections", "closed_by_peer"), 0);

  // Every good reply is a stored row, and nothing else was stored.
  const double good =
      Number(out.json, "prepare", "ok") + Number(out.json, "warmup", "ok") + measured_ok;
  std::string count_sql = "SELECT ";
  for (int shard = 0; shard < 8; ++shard) {
    count_sql += (shard == 0 ? "" : " + ") + std::string("(SELECT COUNT(*) FROM IMMessage_") +
                 std::to_string(shard) + ")";
  }
  EXPECT_EQ(std::stod(db_->QueryValue(count_sql).value_or("-1")), good);
}

TEST_F(BenchSmokeTest, UnreadManySeesThePreparedConversations) {
  const BenchOutput out =
      RunBench(daemon_->port(), {"--scenario", "unread-many", "--prepare", "--users", "901-905",
                                 "--senders", "1-10", "--conversations", "10", "--connections", "2",
                                 "--inflight", "4", "--warmup", "0", "--duration", "0.5"});
  ASSERT_EQ(out.exit_status, 0) << out.json;
  EXPECT_EQ(Number(out.json, "prepare", "sent"), 50);
  EXPECT_EQ(Number(out.json, "prepare", "ok"), 50);
  EXPECT_GT(Number(out.json, "measured", "ok"), 0);
  EXPECT_EQ(Number(out.json, "measured", "failed"), 0);
  EXPECT_EQ(Number(out.json, "measured", "items_per_reply"), 10.0);
}

TEST_F(BenchSmokeTest, UnreadEmptySeesNothingUnread) {
  const BenchOutput out =
      RunBench(daemon_->port(), {"--scenario", "unread-empty", "--users", "950-1000",
                                 "--connections", "1", "--inflight", "1", "--warmup", "0",
                                 "--requests", "200", "--pids", std::to_string(daemon_->pid())});
  ASSERT_EQ(out.exit_status, 0) << out.json;
  EXPECT_EQ(Number(out.json, "measured", "ok"), 200);
  EXPECT_EQ(Number(out.json, "measured", "items_per_reply"), 0.0);
  EXPECT_NE(out.json.find("\"pid\":" + std::to_string(daemon_->pid()) + ",\"ok\":true"),
            std::string::npos)
      << out.json;
}

}  // namespace
}  // namespace dbproxy::testing
