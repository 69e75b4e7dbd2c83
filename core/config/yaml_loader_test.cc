#include "core/config/yaml_loader.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace dbproxy::config {
namespace {

TEST(YamlLoader, EmptyTextGivesDefaults) {
  auto c = LoadConfigText("", "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(10600, c->server.listen.at(0).port);
  EXPECT_EQ(1024u * 1024u, c->server.max_frame_bytes);
  EXPECT_EQ(2u, c->mysql.size());
  EXPECT_EQ(5u, c->redis.size());
  EXPECT_EQ(5u, c->redis.at("group_member").db);
  EXPECT_EQ(3u, c->redis.at("sync").db);
}

TEST(YamlLoader, ShippedConfigIsValid) {
  auto c = LoadConfigFile(std::string(DBPROXY_SOURCE_DIR) + "/etc/dbproxy.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ("DBPROXY_MYSQL_PASSWORD", c->mysql.at("teamtalk_master").password_env);
  EXPECT_EQ(4u, c->redis.at("token").db);
}

TEST(YamlLoader, UnknownKeyNamesFileLineAndSuggestion) {
  auto c = LoadConfigText("server:\n  workers: 4\n  workerz: 5\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ("d.yaml:3: server.workerz: unknown key (did you mean 'workers'?)",
            c.status().message());
}

TEST(YamlLoader, UnknownTopLevelKeyIsAnError) {
  auto c = LoadConfigText("servr:\n  workers: 4\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ("d.yaml:1: servr: unknown key (did you mean 'server'?)", c.status().message());
}

TEST(YamlLoader, WrongTypeNamesKeyAndLine) {
  auto c = LoadConfigText("server:\n  max_frame_bytes: lots\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string::npos,
            c.status().message().find("d.yaml:2: server.max_frame_bytes: must be an integer"))
      << c.status().message();
}

TEST(YamlLoader, RejectsOutOfRangePort) {
  auto c = LoadConfigText("mysql:\n  m:\n    port: 70000\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string::npos, c.status().message().find("d.yaml:3: mysql.m.port"));
}

TEST(YamlLoader, ParsesSeveralListenAddresses) {
  auto c = LoadConfigText("server:\n  listen: [\"127.0.0.1:1\", \"[::1]:2\"]\n", "d.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(2u, c->server.listen.size());
  EXPECT_EQ("::1", c->server.listen[1].host);
  EXPECT_EQ(2, c->server.listen[1].port);
}

TEST(YamlLoader, RejectsBadListenAddress) {
  auto c = LoadConfigText("server:\n  listen: [\"nohostport\"]\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string::npos, c.status().message().find("is not host:port"));
}

TEST(YamlLoader, RejectsDuplicateEnabledModule) {
  auto c = LoadConfigText("plugins:\n  enabled: [a, b, a]\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string::npos, c.status().message().find("'a' is listed twice"));
}

TEST(YamlLoader, KeepsModuleSectionsForThePlugins) {
  auto c = LoadConfigText("plugins:\n  modules:\n    message:\n      max_msg_cnt: 7\n", "d.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(7, c->plugins.modules.at("message")["max_msg_cnt"].as<int>());
}

TEST(YamlLoader, SyntaxErrorNamesLine) {
  auto c = LoadConfigText("server:\n  listen: [\n", "bad.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(0u, c.status().message().rfind("bad.yaml:", 0)) << c.status().message();
}

TEST(YamlLoader, MissingFileIsAnError) {
  auto c = LoadConfigFile("/nonexistent/dbproxy.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ("/nonexistent/dbproxy.yaml: cannot open file", c.status().message());
}

TEST(YamlLoader, OutputBufferMustHoldOneWholeFrame) {
  auto c = LoadConfigText("server:\n  max_frame_bytes: 65536\n  max_output_buffer_bytes: 4096\n",
                          "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string::npos,
            c.status().message().find(
                "d.yaml:3: server.max_output_buffer_bytes: must be at least max_frame_bytes"))
      << c.status().message();
}

TEST(YamlLoader, PerConnectionLimitsHaveDefaultsAndBounds) {
  auto d = LoadConfigText("", "d.yaml");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(1024u, d->server.max_inflight_per_connection);
  EXPECT_EQ(10000u, d->server.frame_timeout_ms);
  auto c = LoadConfigText("server:\n  max_inflight_per_connection: 64\n  frame_timeout_ms: 0\n",
                          "d.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(64u, c->server.max_inflight_per_connection);
  EXPECT_EQ(0u, c->server.frame_timeout_ms);  // 0: off
  auto zero = LoadConfigText("server:\n  max_inflight_per_connection: 0\n", "d.yaml");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(std::string::npos,
            zero.status().message().find("d.yaml:2: server.max_inflight_per_connection"))
      << zero.status().message();
}

TEST(YamlLoader, ClosestKeyIgnoresFarWords) {
  EXPECT_EQ("workers", ClosestKey("wrkers", {"workers", "listen"}));
  EXPECT_EQ("", ClosestKey("zzzzzzzz", {"workers", "listen"}));
}

TEST(YamlLoader, AllowIsAbsentByDefaultAndKeepsItsEntries) {
  auto absent = LoadConfigText("server:\n  workers: 2\n", "d.yaml");
  ASSERT_TRUE(absent.ok()) << absent.status().message();
  EXPECT_FALSE(absent->server.allow.has_value());
  auto c = LoadConfigText(
      "server:\n  allow: [\"10.0.0.0/8\", \"192.168.1.7\", \"2001:db8::/32\", \"::1\"]\n",
      "d.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->server.allow.has_value());
  EXPECT_EQ((std::vector<std::string>{"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1"}),
            *c->server.allow);
  auto one = LoadConfigText("server:\n  allow: 10.1.0.0/16\n", "d.yaml");
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(std::vector<std::string>{"10.1.0.0/16"}, *one->server.allow);
}

TEST(YamlLoader, BadAllowEntryNamesItsOwnLine) {
  auto c = LoadConfigText("server:\n  workers: 2\n  allow:\n    - 10.0.0.0/8\n    - 10.0.0.0/33\n",
                          "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(0u, c.status().message().rfind("d.yaml:5: server.allow: '10.0.0.0/33'", 0))
      << c.status().message();
  auto host_bits = LoadConfigText("server:\n  allow: [\"10.1.2.3/8\"]\n", "d.yaml");
  ASSERT_FALSE(host_bits.ok());
  EXPECT_NE(std::string::npos,
            host_bits.status().message().find("d.yaml:2: server.allow: '10.1.2.3/8' has host "
                                              "bits set below the prefix (did you mean "
                                              "10.0.0.0/8?)"))
      << host_bits.status().message();
  auto name = LoadConfigText("server:\n  allow:\n    - msg1.example.com\n", "d.yaml");
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(0u, name.status().message().rfind("d.yaml:3: server.allow: 'msg1.example.com' is "
                                              "not an IPv4 or IPv6 address",
                                              0))
      << name.status().message();
}

TEST(YamlLoader, EmptyOrNestedAllowIsAnError) {
  auto empty = LoadConfigText("server:\n  allow: []\n", "d.yaml");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(std::string::npos, empty.status().message().find("d.yaml:2: server.allow: an empty "
                                                             "list would refuse every peer"))
      << empty.status().message();
  auto nested = LoadConfigText("server:\n  allow: [[10.0.0.0/8]]\n", "d.yaml");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(std::string::npos, nested.status().message().find("server.allow: must be a list"))
      << nested.status().message();
  auto typo = LoadConfigText("server:\n  alow: [10.0.0.0/8]\n", "d.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(std::string::npos, typo.status().message().find("did you mean 'allow'?"))
      << typo.status().message();
}

TEST(YamlLoader, RedisAclUsernameNeedsAPassword) {
  auto ok =
      LoadConfigText("redis:\n  unread:\n    username: dbproxy\n    password: s3cret\n", "d.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ("dbproxy", ok->redis.at("unread").username);
  auto bad = LoadConfigText("redis:\n  unread:\n    username: dbproxy\n", "d.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string::npos,
            bad.status().message().find("d.yaml:3: redis.unread.username: a Redis ACL user needs"))
      << bad.status().message();
}

// mysql.<pool>.tls: files are checked at load (so --check-config and a reload see them) and
// errors carry file:line like every other key.
class MysqlTlsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dbp-tls-config-XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(pattern));
    dir_ = pattern;
    Write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    Write("garbage.pem", "not a certificate\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  Result<Config> Load(const std::string& tls_lines) {
    Write("d.yaml", "mysql:\n  m:\n    host: 127.0.0.1\n    tls:\n" + tls_lines);
    return LoadConfigFile(dir_ + "/d.yaml");
  }

  std::string dir_;
};

TEST_F(MysqlTlsConfigTest, AbsentMeansPlaintextAndEmptyMappingMeansRequired) {
  auto defaults = LoadConfigText("", "d.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_FALSE(defaults->mysql.at("teamtalk_master").tls.has_value());
  auto plain = LoadConfigText("mysql:\n  m:\n    host: h\n", "d.yaml");
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_FALSE(plain->mysql.at("m").tls.has_value());

  auto required = LoadConfigText("mysql:\n  m:\n    tls: {}\n", "d.yaml");
  ASSERT_TRUE(required.ok()) << required.status().message();
  ASSERT_TRUE(required->mysql.at("m").tls.has_value());
  EXPECT_TRUE(required->mysql.at("m").tls->verify_server_cert);
  EXPECT_EQ("", required->mysql.at("m").tls->ca);
}

TEST_F(MysqlTlsConfigTest, RelativePathsFollowTheConfigFile) {
  auto c = Load("      ca: ca.pem\n      verify_server_cert: false\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(dir_ + "/ca.pem", c->mysql.at("m").tls->ca);
  EXPECT_FALSE(c->mysql.at("m").tls->verify_server_cert);
}

TEST_F(MysqlTlsConfigTest, MissingOrNonPemFileNamesLineAndPath) {
  auto missing = Load("      ca: " + dir_ + "/nope.pem\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(dir_ + "/d.yaml:5: mysql.m.tls.ca: cannot read '" + dir_ +
                "/nope.pem': No such file or directory",
            missing.status().message());

  auto garbage = Load("      ca: ca.pem\n      cert: garbage.pem\n      key: ca.pem\n");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(dir_ + "/d.yaml:6: mysql.m.tls.cert: '" + dir_ +
                "/garbage.pem' is not a PEM file (no -----BEGIN line)",
            garbage.status().message());

  auto directory = Load("      key: " + dir_ + "\n      cert: ca.pem\n");
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(std::string::npos, directory.status().message().find("d.yaml:5: mysql.m.tls.key: '" +
                                                                 dir_ + "' is not a regular file"))
      << directory.status().message();
}

TEST_F(MysqlTlsConfigTest, BadTypesAndHalfAClientCertificateAreErrors) {
  auto flag = Load("      verify_server_cert: maybe\n");
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(dir_ + "/d.yaml:5: mysql.m.tls.verify_server_cert: must be true or false",
            flag.status().message());

  auto list = Load("      ca: [a, b]\n");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(dir_ + "/d.yaml:5: mysql.m.tls.ca: must be a string", list.status().message());

  auto half = Load("      cert: ca.pem\n");
  ASSERT_FALSE(half.ok());
  EXPECT_NE(std::string::npos,
            half.status().message().find("d.yaml:5: mysql.m.tls.cert: cert and key go together"))
      << half.status().message();

  auto typo = Load("      verify_server_certs: true\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(std::string::npos, typo.status().message().find("did you mean 'verify_server_cert'"))
      << typo.status().message();

  auto null_block = LoadConfigText("mysql:\n  m:\n    tls:\n", "d.yaml");
  ASSERT_FALSE(null_block.ok());
  EXPECT_NE(std::string::npos, null_block.status().message().find("mysql.m.tls: must be a mapping"))
      << null_block.status().message();

  auto scalar = LoadConfigText("mysql:\n  m:\n    tls: yes\n", "d.yaml");
  ASSERT_FALSE(scalar.ok());
  EXPECT_NE(std::string::npos, scalar.status().message().find("d.yaml:3: mysql.m.tls: must be"))
      << scalar.status().message();
}

TEST(YamlLoader, RedisSentinelsNeedAMasterNameAndExcludeHost) {
  auto ok = LoadConfigText(
      "redis:\n  unread:\n    sentinels: [\"127.0.0.1:26379\", \"[::1]:26380\"]\n"
      "    master_name: im\n    sentinel_password: pw\n    db: 1\n",
      "d.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  const RedisConfig& c = ok->redis.at("unread");
  ASSERT_EQ(2u, c.sentinels.size());
  EXPECT_EQ("127.0.0.1", c.sentinels[0].host);
  EXPECT_EQ(26379, c.sentinels[0].port);
  EXPECT_EQ("::1", c.sentinels[1].host);
  EXPECT_EQ("im", c.master_name);
  EXPECT_EQ("pw", c.sentinel_password);

  const std::pair<const char*, const char*> kBad[] = {
      {"redis:\n  unread:\n    sentinels: [\"127.0.0.1:26379\"]\n",
       "d.yaml:3: redis.unread.master_name: sentinels need master_name"},
      {"redis:\n  unread:\n    master_name: im\n",
       "d.yaml:3: redis.unread.master_name: needs sentinels"},
      {"redis:\n  unread:\n    master_name: im\n    sentinels:\n      - 127.0.0.1:1\n"
       "      - nowhere\n",
       "d.yaml:6: redis.unread.sentinels: 'nowhere' is not host:port"},
      {"redis:\n  unread:\n    sentinels: []\n    master_name: im\n",
       "d.yaml:3: redis.unread.sentinels: must be a non-empty list"},
      {"redis:\n  unread:\n    master_name: im\n    sentinels: [\"h:1\"]\n    port: 6379\n",
       "d.yaml:5: redis.unread.port: cannot be used with sentinels"},
      {"redis:\n  unread:\n    master_name: im\n    sentinels: [\"h:1\"]\n"
       "    sentinel_username: u\n",
       "d.yaml:5: redis.unread.sentinel_username: a Sentinel ACL user needs"},
      {"redis:\n  unread:\n    sentinel: [\"h:1\"]\n", "did you mean 'sentinels'?"},
  };
  for (const auto& [text, expected] : kBad) {
    auto bad = LoadConfigText(text, "d.yaml");
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(std::string::npos, bad.status().message().find(expected))
        << bad.status().message() << "\nexpected: " << expected;
  }
}

TEST(YamlLoader, ReadYourWritesNamesItsPrimary) {
  const std::string pools = "mysql:\n  teamtalk_master: {}\n  teamtalk_slave:\n";
  auto off = LoadConfigText(pools + "    port: 3307\n", "d.yaml");
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->mysql.at("teamtalk_slave").read_your_writes.enabled);
  auto on = LoadConfigText(pools + "    read_your_writes: {wait_ms: 80}\n", "d.yaml");
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  const ReadYourWritesConfig& ryw = on->mysql.at("teamtalk_slave").read_your_writes;
  EXPECT_TRUE(ryw.enabled);
  EXPECT_EQ("teamtalk_master", ryw.primary);
  EXPECT_EQ(80u, ryw.wait_ms);
  EXPECT_EQ("daemon", ryw.scope);
  auto all = LoadConfigText(pools + "    read_your_writes: {scope: all}\n", "d.yaml");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ("all", all->mysql.at("teamtalk_slave").read_your_writes.scope);
  auto defaults = LoadConfigText(pools + "    read_your_writes: {}\n", "d.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(50u, defaults->mysql.at("teamtalk_slave").read_your_writes.wait_ms);

  const std::pair<std::string, std::string> bad[] = {
      {"    read_your_writes: {primary: nowhere}\n",
       "mysql.teamtalk_slave.read_your_writes.primary: must name another pool"},
      {"    read_your_writes: {primary: teamtalk_slave}\n", "must name another pool"},
      {"    read_your_writes: {wait_ms: 0}\n", "wait_ms: must be at least 1"},
      {"    read_timeout_ms: 1000\n    read_your_writes: {wait_ms: 1000}\n",
       "wait_ms: must be below read_timeout_ms"},
      {"    read_your_writes: {wait_msec: 5}\n", "unknown key (did you mean 'wait_ms'?)"},
      {"    read_your_writes: 50\n", "read_your_writes: must be a mapping"},
      {"    read_your_writes: {scope: cluster}\n", "scope: must be daemon or all"},
  };
  for (const auto& [yaml, error] : bad) {
    auto c = LoadConfigText(pools + yaml, "d.yaml");
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(std::string::npos, c.status().message().find(error)) << c.status().message();
  }
  auto chained = LoadConfigText(
      "mysql:\n  a: {}\n  b:\n    read_your_writes: {primary: a}\n  c:\n"
      "    read_your_writes: {primary: b}\n",
      "d.yaml");
  ASSERT_FALSE(chained.ok());
  EXPECT_NE(std::string::npos, chained.status().message().find("'b' is itself a replica pool"))
      << chained.status().message();
}

}  // namespace
}  // namespace dbproxy::config
