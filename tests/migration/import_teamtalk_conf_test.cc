// `dbproxyctl import-teamtalk-conf` on realistic dbproxyserver.conf files (data/): the YAML it
// writes, the environment file the passwords move to, the problems it reports by line, and
// that the real dbproxyd --check-config (which also dlopens the enabled modules) accepts the
// result. Real binaries built in this tree; no daemon is started.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace {

const std::string kData = std::string(DBPROXY_SOURCE_DIR) + "/tests/migration/data/";
const std::string kCtl = std::string(DBPROXY_BINARY_DIR) + "/tools/dbproxyctl/dbproxyctl";
const std::string kDaemon = std::string(DBPROXY_BINARY_DIR) + "/core/dbproxyd";

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

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ImportTeamtalkConfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dbproxy-import-XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!HasFailure()) {
      std::string ignored;
      RunShell("rm -rf " + dir_, &ignored);
    } else {
      printf("import test files kept in %s\n", dir_.c_str());
    }
  }

  // Imports data/<name>.conf into <dir>/<name>.yaml (+ .env); returns the exit status.
  int Import(const std::string& name) {
    yaml_path_ = dir_ + "/" + name + ".yaml";
    env_path_ = yaml_path_ + ".env";
    int rc =
        RunShell(kCtl + " import-teamtalk-conf " + kData + name + ".conf -o " + yaml_path_ +
                     " --plugin-dir " + DBPROXY_PLUGIN_DIR + " --staging-dir " + dir_ + "/staged",
                 &report_);
    yaml_ = ReadFile(yaml_path_);
    env_ = ReadFile(env_path_);
    return rc;
  }

  void ExpectCheckConfigAccepts() {
    std::string out;
    EXPECT_EQ(0, RunShell(kDaemon + " --check-config -c " + yaml_path_, &out)) << out << yaml_;
  }

  void ExpectHas(const std::string& text, const std::string& needle) {
    EXPECT_NE(std::string::npos, text.find(needle)) << "missing: " << needle << "\n" << text;
  }

  std::string dir_, yaml_path_, env_path_, report_, yaml_, env_;
};

TEST_F(ImportTeamtalkConfTest, AutoSetupStyleFileMapsEveryKey) {
  ASSERT_EQ(0, Import("auto_setup")) << report_;
  EXPECT_EQ(std::string::npos, report_.find("line ")) << report_;
  ExpectHas(yaml_, "listen: [\"127.0.0.1:10600\"]");
  ExpectHas(yaml_, "workers: 48");
  ExpectHas(yaml_,
            "  teamtalk_master:\n    host: \"127.0.0.1\"\n    port: 3306\n"
            "    database: \"teamtalk\"  # _dbname\n    user: \"ttadmin\"");
  ExpectHas(yaml_, "  teamtalk_slave:\n    host: \"127.0.0.1\"\n    port: 3307\n");
  ExpectHas(yaml_, "user: \"ttreader\"");
  ExpectHas(yaml_, "password_env: DBPROXY_MYSQL_PASSWORD_TEAMTALK_MASTER");
  ExpectHas(yaml_, "password_env: DBPROXY_MYSQL_PASSWORD_TEAMTALK_SLAVE");
  ExpectHas(yaml_, "unread: { host: \"127.0.0.1\", port: 6379, db: 1, pool_size: 16 }");
  ExpectHas(yaml_, "group_set: { host: \"127.0.0.1\", port: 6379, db: 2, pool_size: 16 }");
  ExpectHas(yaml_, "token: { host: \"127.0.0.1\", port: 6379, db: 4, pool_size: 16 }");
  ExpectHas(yaml_, "sync: { host: \"127.0.0.1\", port: 6379, db: 3, pool_size: 1 }");
  ExpectHas(yaml_, "group_member: { host: \"127.0.0.1\", port: 6379, db: 5, pool_size: 48 }");
  ExpectHas(yaml_, "msfs_url: \"http://127.0.0.1:8700\"  # MsfsSite");
  ExpectHas(yaml_, "session:\n      aes_key: \"12345678901234567890123456789012\"");
  ExpectHas(yaml_, "unread:\n      aes_key: \"12345678901234567890123456789012\"");
  // The passwords are in the environment file only, and it is private.
  EXPECT_EQ(std::string::npos, yaml_.find("s3cret")) << yaml_;
  ExpectHas(env_, "\nDBPROXY_MYSQL_PASSWORD_TEAMTALK_MASTER=s3cret-master\n");
  ExpectHas(env_, "\nDBPROXY_MYSQL_PASSWORD_TEAMTALK_SLAVE=s3cret-slave\n");
  struct stat st {};
  ASSERT_EQ(0, stat(env_path_.c_str(), &st));
  EXPECT_EQ(0600u, st.st_mode & 0777);
  ExpectCheckConfigAccepts();
}

TEST_F(ImportTeamtalkConfTest, MissingKeysAreNamedAndDefaulted) {
  EXPECT_EQ(1, Import("missing_keys")) << report_;
  for (const char* key : {"ThreadNum", "teamtalk_slave_port", "teamtalk_slave_password",
                          "group_member_db", "MsfsSite", "aesKey"}) {
    ExpectHas(report_, std::string("missing key ") + key + " ");
  }
  ExpectHas(report_, "CacheInstances has no group_set");
  ExpectHas(report_, "CacheInstances has no token");
  ExpectHas(yaml_, "listen: [\"0.0.0.0:10600\", \"127.0.0.1:10600\"]");
  ExpectHas(yaml_, "workers: 16  # ThreadNum (default, ThreadNum was missing)");
  ExpectHas(yaml_, "  teamtalk_slave:\n    host: \"db2.internal\"\n    port: 3306\n");
  ExpectHas(yaml_, "group_member: { host: \"127.0.0.1\", port: 6379, db: 0, pool_size: 16 }");
  ExpectHas(yaml_, "# audio.msfs_url: MsfsSite was empty or missing");
  ExpectHas(env_, "\nDBPROXY_MYSQL_PASSWORD_TEAMTALK_MASTER=pw1\n");
  ExpectHas(env_, "\nDBPROXY_MYSQL_PASSWORD_TEAMTALK_SLAVE=\n");
  ExpectCheckConfigAccepts();
}

TEST_F(ImportTeamtalkConfTest, GarbageLinesAreReportedWithTheirLineNumbers) {
  EXPECT_EQ(1, Import("garbage")) << report_;
  ExpectHas(report_, "line 3: not key=value: 'this line has no equals sign'");
  ExpectHas(report_, "line 4: ThreadNum=eight is not a number");
  ExpectHas(report_, "line 5: malformed key ''");
  ExpectHas(report_, "line 6: malformed key 'bad key'");
  ExpectHas(report_, "line 7: duplicate key 'ListenPort' (the first, line 2, is used)");
  ExpectHas(report_, "line 8: unknown key 'LogLevel'");
  ExpectHas(report_, "line 9: aesKey must be exactly 32 characters, got 8");
  ExpectHas(report_, "DBInstances has no teamtalk_slave");
  ExpectHas(yaml_, "listen: [\"127.0.0.1:10600\"]");  // the first ListenPort wins
  ExpectHas(yaml_, "workers: 16");
  ExpectHas(yaml_, "msfs_url: \"https://msfs.example:8700\"");
  // '#' starts a comment anywhere, as in the original: the password is "p".
  ExpectHas(env_, "\nDBPROXY_MYSQL_PASSWORD_TEAMTALK_MASTER=p\n");
  ExpectCheckConfigAccepts();
}

TEST_F(ImportTeamtalkConfTest, UnreadableInputIsAUsageError) {
  std::string out;
  EXPECT_EQ(2, RunShell(kCtl + " import-teamtalk-conf " + dir_ + "/nope.conf", &out));
  ExpectHas(out, "cannot read");
}

// The imported config of a file naming the test MariaDB and Redis runs a real dbproxyd that
// answers a request reaching both (test_echo's lookup: an IMUser row and an INCR in unread),
// with the MySQL password taken from the imported environment file.
TEST_F(ImportTeamtalkConfTest, ImportedConfigServesRequests) {
  auto db = dbproxy::testing::TestDatabase::Create();
  auto redis = dbproxy::testing::TestRedis::Create();
  ASSERT_TRUE(db && redis);
  const auto& env = db->env();
  std::string conf =
      "ListenIP=127.0.0.1\nListenPort=0\nThreadNum=4\n"
      "aesKey=12345678901234567890123456789012\nMsfsSite=127.0.0.1:1\n"
      "DBInstances=teamtalk_master,teamtalk_slave\n";
  for (const char* inst : {"teamtalk_master", "teamtalk_slave"}) {
    std::string i = inst;
    conf += i + "_host=" + env.mysql_host + "\n" + i + "_port=" + std::to_string(env.mysql_port) +
            "\n" + i + "_dbname=" + db->name() + "\n" + i + "_username=" + env.mysql_user + "\n" +
            i + "_password=" + env.mysql_password + "\n" + i + "_maxconncnt=4\n";
  }
  conf += "CacheInstances=unread,group_set,token,sync,group_member\n";
  for (auto inst : dbproxy::testing::TestRedis::kInstances) {
    std::string i(inst);
    conf += i + "_host=127.0.0.1\n" + i + "_port=" + std::to_string(redis->env().redis_port) +
            "\n" + i + "_db=" + std::to_string(redis->db(inst)) + "\n" + i + "_maxconncnt=2\n";
  }
  std::string conf_path = dir_ + "/live.conf";
  { std::ofstream(conf_path) << conf; }
  std::string yaml_path = dir_ + "/live.yaml", env_path = dir_ + "/live.env", out;
  ASSERT_EQ(0, RunShell(kCtl + " import-teamtalk-conf " + conf_path + " -o " + yaml_path +
                            " --env-file " + env_path + " --plugin-dir " + DBPROXY_TEST_PLUGIN_DIR +
                            " --staging-dir " + dir_ + "/staged",
                        &out))
      << out;
  // Only what a test must change: the test module, a private admin socket, any metrics port.
  std::string yaml = ReadFile(yaml_path);
  yaml = std::regex_replace(yaml, std::regex("  enabled: \\[.*\\]"), "  enabled: [test_echo]");
  yaml = std::regex_replace(yaml, std::regex("socket: /run/dbproxy/dbproxy.sock"),
                            "socket: " + dir_ + "/admin.sock");
  yaml = std::regex_replace(yaml, std::regex("metrics_listen: 127.0.0.1:10601"),
                            "metrics_listen: 127.0.0.1:0");
  { std::ofstream(yaml_path) << yaml; }
  std::string ready = dir_ + "/ready", pid_text;
  ASSERT_EQ(0, RunShell("set -a; . " + env_path + "; set +a; " + kDaemon + " -c " + yaml_path +
                            " --ready-file " + ready + " >" + dir_ + "/daemon.log 2>&1 & echo $!",
                        &pid_text));
  pid_t pid = static_cast<pid_t>(std::stol(pid_text));
  std::string ready_text;
  for (int i = 0; i < 200 && ready_text.find("listen") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ready_text = ReadFile(ready);
  }
  std::smatch m;
  bool listening = std::regex_search(ready_text, m, std::regex("listen 127.0.0.1:([0-9]+)"));
  if (listening) {
    dbproxy::testing::WireClient client;
    ASSERT_TRUE(client.Connect(static_cast<uint16_t>(std::stoi(m[1]))));
    auto reply = client.Call(7, 0x7003, "5");
    ASSERT_TRUE(reply);
    EXPECT_EQ("user5:1", reply->body);
    EXPECT_EQ("1", redis->Command(redis->db("unread"), "GET", "test_echo_5").str);
  }
  kill(pid, SIGTERM);
  for (int i = 0; i < 200 && kill(pid, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(listening) << ReadFile(dir_ + "/daemon.log") << yaml;
}

}  // namespace
