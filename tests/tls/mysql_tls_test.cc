// TLS from the MySQL pools to a real MariaDB (issue 15, "who may connect"): a throwaway CA
// made with openssl, a private MariaDB offering TLS with a certificate for 127.0.0.1, users
// created REQUIRE SSL and REQUIRE X509, and a real dbproxyd (test_echo module, whose 0x7003
// reads IMUser through teamtalk_slave) configured with mysql.<pool>.tls. The server itself
// confirms that the daemon's sessions are encrypted (performance_schema's per-thread
// Ssl_cipher), and every refusal (wrong CA, plaintext to a REQUIRE SSL user, a server
// without TLS, a missing file) is a clear error with the daemon still serving.

#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/child_process.h"
#include "tests/support/daemon_process.h"
#include "tests/support/private_mariadb.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wait_for.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kService = 7;
constexpr uint16_t kEcho = 0x7001;
constexpr uint16_t kLookup = 0x7003;  // "<user id>" -> "<IMUser.name>:<n>" or "mysql-down:<n>"
constexpr const char* kSslUser = "dbp_tls_ssl";
constexpr const char* kSslPassword = "ssl-secret";
constexpr const char* kX509User = "dbp_tls_x509";
constexpr const char* kX509Password = "x509-secret";

// The text from needle to the end of its line, or "" if log does not contain needle.
std::string LineFrom(const std::string& log, const std::string& needle) {
  const size_t at = log.find(needle);
  return at == std::string::npos ? "" : log.substr(at, log.find('\n', at) - at);
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

class MysqlTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TestCertificates(TestCertificates::Make());
    PrivateMariadbOptions options;
    // performance_schema: the only place a server shows another session's Ssl_cipher.
    options.extra_config = certs_->MariadbServerLines() + "performance_schema=ON\n";
    server_ = PrivateMariadb::Start(options).release();
    db_ = TestDatabase::Create(server_->env()).release();
    redis_ = TestRedis::Create().release();
    for (auto [user, password, require] : {std::tuple{kSslUser, kSslPassword, "SSL"},
                                           std::tuple{kX509User, kX509Password, "X509"}}) {
      db_->Exec(std::string("CREATE USER '") + user + "'@'127.0.0.1' IDENTIFIED BY '" + password +
                "' REQUIRE " + require);
      db_->Exec(std::string("GRANT ALL PRIVILEGES ON `") + db_->name() + "`.* TO '" + user +
                "'@'127.0.0.1'");
    }
  }
  static void TearDownTestSuite() {
    delete db_;
    delete redis_;
    delete server_;
    delete certs_;
  }

  // test_echo with both pools logging in as user, the lines of tls_yaml (a whole "tls:"
  // block, or "" for none) under each pool.
  static DaemonOptions Options(const std::string& user, const std::string& password,
                               const std::string& tls_yaml) {
    DaemonOptions o;
    o.plugins = {"test_echo"};
    o.plugin_dir = DBPROXY_TEST_PLUGIN_DIR;
    o.workers = 4;
    for (const char* pool : {"teamtalk_master", "teamtalk_slave"}) {
      DaemonOptions::MysqlPoolOverride& change = o.mysql_overrides[pool];
      change.user = user;
      change.password = password;
      change.yaml = tls_yaml;
    }
    return o;
  }

  static std::string TlsBlock(const std::string& ca, bool verify, bool client_cert = false) {
    std::string yaml = "tls:\n";
    if (!ca.empty()) {
      yaml += "  ca: \"" + ca + "\"\n";
    }
    if (client_cert) {
      yaml +=
          "  cert: \"" + certs_->client_cert() + "\"\n  key: \"" + certs_->client_key() + "\"\n";
    }
    yaml += std::string("  verify_server_cert: ") + (verify ? "true" : "false") + "\n";
    return yaml;
  }

  void Start(const DaemonOptions& options) {
    ASSERT_TRUE(daemon_.Start(*db_, *redis_, options));
    ASSERT_TRUE(client_.Connect(daemon_.port()));
  }

  // The name part of a 0x7003 answer for user 1: the IMUser name, or "mysql-down".
  std::string LookupUserOne() {
    auto answer = client_.Call(kService, kLookup, "1");
    if (!answer) {
      ADD_FAILURE() << "no answer to 0x7003: " << client_.last_error();
      return "";
    }
    return answer->body.substr(0, answer->body.rfind(':'));
  }

  // The daemon is alive and serving after a failed MySQL connect: no crash, no stall.
  void ExpectStillServing() {
    EXPECT_TRUE(daemon_.running());
    auto echo = client_.Call(kService, kEcho, "alive");
    ASSERT_TRUE(echo.has_value());
    EXPECT_EQ("alive", echo->body);
  }

  // Ssl_cipher of every session user has on the server, as the server reports it.
  static std::vector<std::string> ServerSideCiphers(const std::string& user) {
    std::vector<std::string> ciphers;
    for (const TestDatabase::Row& row :
         db_->Query("SELECT s.VARIABLE_VALUE FROM performance_schema.status_by_thread s JOIN "
                    "performance_schema.threads t USING (THREAD_ID) WHERE t.PROCESSLIST_USER = '" +
                    user + "' AND s.VARIABLE_NAME = 'Ssl_cipher'")) {
      ciphers.push_back(row.at(0).value_or(""));
    }
    return ciphers;
  }

  static std::string UserOneName() {
    return db_->QueryValue("SELECT name FROM IMUser WHERE id = 1").value();
  }

  static TestCertificates* certs_;
  static PrivateMariadb* server_;
  static TestDatabase* db_;
  static TestRedis* redis_;
  DaemonProcess daemon_;
  WireClient client_;
};

TestCertificates* MysqlTlsTest::certs_ = nullptr;
PrivateMariadb* MysqlTlsTest::server_ = nullptr;
TestDatabase* MysqlTlsTest::db_ = nullptr;
TestRedis* MysqlTlsTest::redis_ = nullptr;

TEST_F(MysqlTlsTest, RequireSslUserIsServedOverAVerifiedEncryptedSession) {
  Start(Options(kSslUser, kSslPassword, TlsBlock(certs_->ca(), true)));
  const std::string name = UserOneName();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(name, LookupUserOne());
  }

  std::vector<std::string> ciphers = ServerSideCiphers(kSslUser);
  ASSERT_FALSE(ciphers.empty()) << "the server shows no session of " << kSslUser;
  const std::string logged =
      "pool teamtalk_slave: TLS to 127.0.0.1:" + std::to_string(server_->port()) + " as " +
      kSslUser + ": TLSv1.";
  // Info lines reach the file within a second (log.cc flushes every second).
  ASSERT_TRUE(WaitFor([&] { return daemon_.ReadLog().find(logged) != std::string::npos; }, 5000))
      << daemon_.ReadLog();
  const std::string log = daemon_.ReadLog();
  std::printf("cipher log line: %s\n", LineFrom(log, logged).c_str());
  for (const std::string& cipher : ciphers) {
    EXPECT_FALSE(cipher.empty()) << "a session of " << kSslUser << " is not encrypted";
    // The daemon logged the cipher it negotiated, which is the one the server sees.
    EXPECT_NE(std::string::npos, log.find(" cipher " + cipher + ", server certificate verified"))
        << cipher << "\n"
        << log;
  }
  // Once per pool, however many connections it opened.
  EXPECT_EQ(1u, Count(log, logged)) << log;
}

TEST_F(MysqlTlsTest, ClientCertificateSatisfiesRequireX509) {
  Start(Options(kX509User, kX509Password, TlsBlock(certs_->ca(), true, /*client_cert=*/true)));
  EXPECT_EQ(UserOneName(), LookupUserOne());
  for (const std::string& cipher : ServerSideCiphers(kX509User)) {
    EXPECT_FALSE(cipher.empty());
  }
  daemon_.Stop();

  // The same user with TLS but no client certificate: the server refuses the login.
  Start(Options(kX509User, kX509Password, TlsBlock(certs_->ca(), true)));
  EXPECT_EQ("mysql-down", LookupUserOne());
  EXPECT_NE(std::string::npos, daemon_.ReadLog().find("Access denied for user 'dbp_tls_x509'"))
      << daemon_.ReadLog();
  ExpectStillServing();
}

TEST_F(MysqlTlsTest, WrongCaIsAClearConnectFailureNotACrash) {
  Start(Options(kSslUser, kSslPassword, TlsBlock(certs_->other_ca(), true)));
  EXPECT_EQ("mysql-down", LookupUserOne());
  const std::string log = daemon_.ReadLog();
  const std::string prefix =
      "pool teamtalk_slave: cannot connect to 127.0.0.1:" + std::to_string(server_->port()) +
      " as " + kSslUser + " over TLS: ";
  const std::string line = LineFrom(log, prefix);
  ASSERT_FALSE(line.empty()) << log;
  std::printf("wrong CA log line: %s\n", line.c_str());
  EXPECT_NE(std::string::npos, line.find("certificate")) << line;
  ExpectStillServing();
  daemon_.Stop();

  // A ca, when given, is always checked: verify_server_cert false only skips the host name.
  Start(Options(kSslUser, kSslPassword, TlsBlock(certs_->other_ca(), false)));
  EXPECT_EQ("mysql-down", LookupUserOne());
  EXPECT_NE(std::string::npos,
            daemon_.ReadLog().find("over TLS: mysql error 2026: TLS/SSL error: self-signed "
                                   "certificate in certificate chain"))
      << daemon_.ReadLog();
  ExpectStillServing();
}

// verify_server_cert checks that the certificate names the host dbproxyd dialled: the
// server's certificate is for IP 127.0.0.1, so "localhost" (the same server) is refused.
TEST_F(MysqlTlsTest, VerifyServerCertChecksTheHostName) {
  DaemonOptions o = Options(kSslUser, kSslPassword, TlsBlock(certs_->ca(), true));
  o.mysql_overrides["teamtalk_slave"].host = "localhost";
  Start(o);
  EXPECT_EQ("mysql-down", LookupUserOne());
  const std::string log = daemon_.ReadLog();
  const std::string line = LineFrom(log, "pool teamtalk_slave: cannot connect to localhost:");
  ASSERT_FALSE(line.empty()) << log;
  std::printf("host name mismatch log line: %s\n", line.c_str());
  EXPECT_NE(std::string::npos, line.find("over TLS: mysql error 2026")) << line;
  ExpectStillServing();
  daemon_.Stop();

  o.mysql_overrides["teamtalk_slave"].yaml = TlsBlock(certs_->ca(), false);
  Start(o);
  EXPECT_EQ(UserOneName(), LookupUserOne());
  EXPECT_TRUE(WaitFor(
      [&] {
        return daemon_.ReadLog().find(
                   "server certificate chain checked against ca, host name "
                   "not checked") != std::string::npos;
      },
      5000))
      << daemon_.ReadLog();
}

// Without a ca: verify_server_cert false still encrypts (and says the server is not
// authenticated); true checks against the system's CA store, which does not know this CA.
TEST_F(MysqlTlsTest, WithoutACaVerificationUsesTheSystemStore) {
  Start(Options(kSslUser, kSslPassword, TlsBlock("", false)));
  EXPECT_EQ(UserOneName(), LookupUserOne());
  std::vector<std::string> ciphers = ServerSideCiphers(kSslUser);
  ASSERT_FALSE(ciphers.empty());
  for (const std::string& cipher : ciphers) {
    EXPECT_FALSE(cipher.empty());
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        return daemon_.ReadLog().find("server certificate NOT verified") != std::string::npos;
      },
      5000))
      << daemon_.ReadLog();
  daemon_.Stop();

  Start(Options(kSslUser, kSslPassword, TlsBlock("", true)));
  EXPECT_EQ("mysql-down", LookupUserOne());
  EXPECT_NE(std::string::npos, daemon_.ReadLog().find("over TLS: mysql error 2026: TLS/SSL error"))
      << daemon_.ReadLog();
  ExpectStillServing();
}

TEST_F(MysqlTlsTest, NoTlsBlockAgainstARequireSslUserIsRefusedByTheServer) {
  Start(Options(kSslUser, kSslPassword, ""));
  EXPECT_EQ("mysql-down", LookupUserOne());
  const std::string log = daemon_.ReadLog();
  EXPECT_NE(std::string::npos, log.find("pool teamtalk_slave: cannot connect to 127.0.0.1:" +
                                        std::to_string(server_->port()) + " as " + kSslUser +
                                        ": mysql error 1045: Access denied"))
      << log;
  ExpectStillServing();
}

// tls present means TLS or nothing: against a server that offers none (the tools/test
// MariaDB), the pool never falls back to plaintext.
TEST_F(MysqlTlsTest, ServerWithoutTlsIsNeverUsedInPlaintext) {
  auto plain_db = TestDatabase::Create();
  ASSERT_NE("YES", plain_db->QueryValue("SELECT @@have_ssl").value_or(""))
      << "the tools/test MariaDB offers TLS; this test needs a server that does not";
  auto plain_redis = TestRedis::Create();
  DaemonOptions o = Options(plain_db->env().mysql_user, plain_db->env().mysql_password,
                            TlsBlock("", /*verify=*/false));
  ASSERT_TRUE(daemon_.Start(*plain_db, *plain_redis, o));
  ASSERT_TRUE(client_.Connect(daemon_.port()));
  EXPECT_EQ("mysql-down", LookupUserOne());
  const std::string log = daemon_.ReadLog();
  const std::string line = LineFrom(log, "pool teamtalk_slave: cannot connect to");
  ASSERT_FALSE(line.empty()) << log;
  std::printf("no-TLS server log line: %s\n", line.c_str());
  EXPECT_NE(std::string::npos, line.find(" over TLS: ")) << line;
  EXPECT_NE(std::string::npos, line.find("TLS")) << line;
  ExpectStillServing();
}

// A changed tls block is a pool change like host or user: reload reports that it needs a
// restart and the running pool keeps its settings, also for connections it opens later.
TEST_F(MysqlTlsTest, ReloadKeepsTheRunningTlsSettingsAndSaysARestartIsNeeded) {
  DaemonOptions with_tls = Options(kSslUser, kSslPassword, TlsBlock(certs_->ca(), true));
  Start(with_tls);
  const std::string name = UserOneName();
  ASSERT_EQ(name, LookupUserOne());

  daemon_.RewriteConfig(Options(kSslUser, kSslPassword, ""));
  daemon_.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor(
      [&] {
        return daemon_.ReadLog().find("reload: 'mysql' changed but needs a restart") !=
               std::string::npos;
      },
      10000))
      << daemon_.ReadLog();

  // Make the pool open new sessions: a plaintext one would be refused (REQUIRE SSL).
  for (const TestDatabase::Row& row :
       db_->Query(std::string("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '") +
                  kSslUser + "'")) {
    db_->Exec("KILL CONNECTION " + row.at(0).value());
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return db_->QueryValue(std::string("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                           "WHERE USER = '") +
                               kSslUser + "'") == "0";
      },
      10000));
  EXPECT_EQ(name, LookupUserOne()) << daemon_.ReadLog();
  for (const std::string& cipher : ServerSideCiphers(kSslUser)) {
    EXPECT_FALSE(cipher.empty());
  }
  EXPECT_EQ(std::string::npos, daemon_.ReadLog().find("cannot connect")) << daemon_.ReadLog();
}

// --check-config (and start-up, and reload, which use the same loader) report a missing or
// non-PEM file with the file, line and key.
TEST_F(MysqlTlsTest, CheckConfigNamesAMissingCertificateFileWithItsLine) {
  const std::string dir = MakeTempDir("dbp-tls-check-");
  const std::string yaml = dir + "/dbproxy.yaml";
  std::ofstream(yaml) << "mysql:\n"
                         "  teamtalk_master:\n"
                         "    host: 127.0.0.1\n"
                         "    tls:\n"
                         "      ca: \""
                      << certs_->ca()
                      << "\"\n"
                         "      cert: \""
                      << dir
                      << "/missing.pem\"\n"
                         "      key: \""
                      << certs_->client_key()
                      << "\"\n"
                         "plugins:\n"
                         "  enabled: []\n";
  ChildProcess check;
  std::string error;
  ASSERT_TRUE(check.Spawn(
      {std::string(DBPROXY_BINARY_DIR) + "/core/dbproxyd", "--check-config", "-c", yaml},
      dir + "/out.log", &error))
      << error;
  EXPECT_EQ(1, check.WaitExit(20000));
  const std::string out = TailOfFile(dir + "/out.log", 5);
  EXPECT_NE(std::string::npos, out.find(yaml + ":6: mysql.teamtalk_master.tls.cert: cannot read '" +
                                        dir + "/missing.pem': No such file or directory"))
      << out;
  RemoveTree(dir);
}

}  // namespace
}  // namespace dbproxy::testing
