// `dbproxyctl import-teamtalk-conf` on realistic dbproxyserver.conf files (data/): the YAML it
// writes, the environment file the passwords move to, the problems it reports by line, and
// that the real dbproxyd --check-config (which also dlopens the enabled modules) accepts the
// result. Real binaries built in this tree; no daemon is started.

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

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

}  // namespace
