// login over the wire: dbproxyd with the login module, real MariaDB and Redis.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Server.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kSidOther = 7;
constexpr uint16_t kValidateReq = 0x0703;
constexpr uint16_t kValidateRsp = 0x0704;

// md5_hex("123456"): what a client sends for the demo users' password.
constexpr const char* kClientPassword = "e10adc3949ba59abbe56e057f20f883e";
constexpr const char* kOk = "\xe6\x88\x90\xe5\x8a\x9f";
constexpr const char* kWrong =
    "\xe7\x94\xa8\xe6\x88\xb7\xe5\x90\x8d/\xe5\xaf\x86\xe7\xa0\x81\xe9\x94\x99\xe8\xaf\xaf";
constexpr const char* kTooMany =
    "\xe7\x94\xa8\xe6\x88\xb7\xe5\x90\x8d/\xe5\xaf\x86\xe7\xa0\x81\xe9\x94\x99\xe8\xaf\xaf"
    "\xe6\xac\xa1\xe6\x95\xb0\xe5\xa4\xaa\xe5\xa4\x9a";
constexpr const char* kInternal =
    "\xe6\x9c\x8d\xe5\x8a\xa1\xe7\xab\xaf\xe5\x86\x85\xe9\x83\xa8\xe9\x94\x99\xe8\xaf\xaf";

// CDbAttachData(type 1, handle 0x01020304, service 0), as msg_server sends it.
const std::string kAttach("\x00\x00\x00\x01\x01\x02\x03\x04\x00\x00\x00\x00", 12);

class LoginTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    daemon_ = new DaemonProcess();
    DaemonProcess::Options options;
    options.plugins = {"login"};
    ASSERT_TRUE(daemon_->Start(*db_, *redis_, options));
  }
  static void TearDownTestSuite() {
    delete daemon_;
    delete redis_;
    delete db_;
  }

  void SetUp() override {
    ASSERT_NE(daemon_, nullptr);
    ASSERT_TRUE(daemon_->running());
    ASSERT_TRUE(client_.Connect(daemon_->port()));
  }

  // Sends 0x0703 and parses the 0x0704 answer; checks the frame header.
  IM::Server::IMValidateRsp Validate(const std::string& name, const std::string& password,
                                     std::optional<std::string> attach = kAttach) {
    IM::Server::IMValidateReq req;
    req.set_user_name(name);
    req.set_password(password);
    if (attach) {
      req.set_attach_data(*attach);
    }
    std::string body;
    req.SerializeToString(&body);
    return CallRaw(body);
  }

  IM::Server::IMValidateRsp CallRaw(const std::string& body) {
    IM::Server::IMValidateRsp rsp;
    std::optional<WireClient::Frame> frame = client_.Call(kSidOther, kValidateReq, body);
    EXPECT_TRUE(frame.has_value()) << "no answer to 0x0703";
    if (!frame) {
      return rsp;
    }
    EXPECT_EQ(frame->service_id, kSidOther);
    EXPECT_EQ(frame->command_id, kValidateRsp);
    EXPECT_EQ(frame->seq, client_.last_seq());
    EXPECT_TRUE(rsp.ParseFromString(frame->body)) << "0x0704 lacks a required field";
    return rsp;
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  static DaemonProcess* daemon_;
  WireClient client_;
};

TestDatabase* LoginTest::db_ = nullptr;
TestRedis* LoginTest::redis_ = nullptr;
DaemonProcess* LoginTest::daemon_ = nullptr;

TEST_F(LoginTest, RightPasswordAnswersSuccessWithTheUsersRow) {
  IM::Server::IMValidateRsp rsp = Validate("user1", kClientPassword);

  EXPECT_EQ(rsp.user_name(), "user1");
  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(rsp.result_string(), kOk);
  EXPECT_EQ(rsp.attach_data(), kAttach);
  ASSERT_TRUE(rsp.has_user_info());
  const IM::BaseDefine::UserInfo& u = rsp.user_info();
  EXPECT_EQ(u.user_id(), 1u);
  EXPECT_EQ(u.user_gender(), 1u);
  EXPECT_EQ(u.user_nick_name(), "nick1");
  EXPECT_EQ(u.avatar_url(), "");
  EXPECT_EQ(u.department_id(), 1u);
  EXPECT_EQ(u.email(), "user1@example.com");
  EXPECT_EQ(u.user_real_name(), "user1");
  EXPECT_EQ(u.user_tel(), "");
  EXPECT_EQ(u.user_domain(), "user1");
  EXPECT_EQ(u.status(), 0u);
  EXPECT_TRUE(u.has_sign_info());
  EXPECT_EQ(u.sign_info(), "");
}

TEST_F(LoginTest, UserInfoMapsEveryColumnAndReadsNullAsEmpty) {
  db_->Exec(
      "UPDATE IMUser SET sex = 2, nick = 'N\\'ick \xf0\x9f\x98\x80', avatar = NULL, departId = 7, "
      "email = 'e@x', phone = '13800000000', domain = 'dom', sign_info = 'sig', "
      "salt = '1234', password = 'b605e86d02eef8bfd0646f6a704c17c9' WHERE id = 21");

  IM::Server::IMValidateRsp rsp = Validate("user21", kClientPassword);

  ASSERT_EQ(rsp.result_code(), 0u);
  const IM::BaseDefine::UserInfo& u = rsp.user_info();
  EXPECT_EQ(u.user_id(), 21u);
  EXPECT_EQ(u.user_gender(), 2u);
  EXPECT_EQ(u.user_nick_name(), "N'ick \xf0\x9f\x98\x80");
  EXPECT_EQ(u.avatar_url(), "");
  EXPECT_EQ(u.department_id(), 7u);
  EXPECT_EQ(u.email(), "e@x");
  EXPECT_EQ(u.user_real_name(), "user21");
  EXPECT_EQ(u.user_tel(), "13800000000");
  EXPECT_EQ(u.user_domain(), "dom");
  EXPECT_EQ(u.status(), 0u);
  EXPECT_EQ(u.sign_info(), "sig");
}

TEST_F(LoginTest, WrongPasswordAnswersResult1WithoutUserInfo) {
  IM::Server::IMValidateRsp rsp = Validate("user2", "e10adc3949ba59abbe56e057f20f883f");

  EXPECT_EQ(rsp.user_name(), "user2");
  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_EQ(rsp.result_string(), kWrong);
  EXPECT_FALSE(rsp.has_user_info());
  EXPECT_EQ(rsp.attach_data(), kAttach);
}

TEST_F(LoginTest, PlainPasswordInsteadOfItsMd5IsRefused) {
  EXPECT_EQ(Validate("user2", "123456").result_code(), 1u);
}

TEST_F(LoginTest, UnknownUserAnswersResult1) {
  IM::Server::IMValidateRsp rsp = Validate("nobody", kClientPassword);

  EXPECT_EQ(rsp.user_name(), "nobody");
  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_EQ(rsp.result_string(), kWrong);
  EXPECT_FALSE(rsp.has_user_info());
}

TEST_F(LoginTest, UserWithStatusOtherThan0CannotLogIn) {
  db_->Exec("UPDATE IMUser SET status = 2 WHERE id = 22");
  db_->Exec("UPDATE IMUser SET status = NULL WHERE id = 23");

  EXPECT_EQ(Validate("user22", kClientPassword).result_code(), 1u);
  EXPECT_EQ(Validate("user23", kClientPassword).result_code(), 1u);
}

TEST_F(LoginTest, NameWithQuotesLogsInAsItself) {
  db_->Exec(
      "UPDATE IMUser SET name = 'o\\'brien\\\\x', salt = '42', "
      "password = MD5(CONCAT('e10adc3949ba59abbe56e057f20f883e', '42')) WHERE id = 24");

  IM::Server::IMValidateRsp rsp = Validate("o'brien\\x", kClientPassword);

  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(rsp.user_name(), "o'brien\\x");
  EXPECT_EQ(rsp.user_info().user_id(), 24u);
  EXPECT_EQ(rsp.user_info().user_real_name(), "o'brien\\x");
}

TEST_F(LoginTest, InjectionInTheNameDoesNotLogIn) {
  for (const char* name : {"' OR '1'='1", "user3' -- ", "user3' OR 1=1 -- ", "%"}) {
    IM::Server::IMValidateRsp rsp = Validate(name, kClientPassword);
    EXPECT_EQ(rsp.result_code(), 1u) << name;
    EXPECT_EQ(rsp.user_name(), name);
    EXPECT_FALSE(rsp.has_user_info()) << name;
  }
}

TEST_F(LoginTest, SeveralActiveRowsWithOneNameUseTheHighestId) {
  // IMUser.name has no unique key. The newer row (id 26) has another password.
  db_->Exec(
      "UPDATE IMUser SET name = 'twin' WHERE id IN (25, 26); "
      "UPDATE IMUser SET salt = '1', password = MD5(CONCAT('00000000000000000000000000000000', "
      "'1')) WHERE id = 26");

  EXPECT_EQ(Validate("twin", kClientPassword).result_code(), 1u);
  IM::Server::IMValidateRsp rsp = Validate("twin", "00000000000000000000000000000000");
  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(rsp.user_info().user_id(), 26u);
}

TEST_F(LoginTest, EleventhFailureBlocksTheNameAndSuccessBeforeThatResets) {
  const std::string bad = "ffffffffffffffffffffffffffffffff";
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Validate("user30", bad).result_code(), 1u) << "attempt " << i + 1;
  }
  ASSERT_EQ(Validate("user30", kClientPassword).result_code(), 0u) << "10 failures still allowed";

  // The success forgot the 10 failures: 11 more are each answered 1 ...
  for (int i = 0; i < 11; ++i) {
    ASSERT_EQ(Validate("user30", bad).result_code(), 1u) << "attempt " << i + 1 << " after reset";
  }
  // ... and now more than 10 failures lie within 30 minutes: refused without a lookup,
  // even with the right password.
  IM::Server::IMValidateRsp rsp = Validate("user30", kClientPassword);
  EXPECT_EQ(rsp.result_code(), 6u);
  EXPECT_EQ(rsp.result_string(), kTooMany);
  EXPECT_EQ(rsp.user_name(), "user30");
  EXPECT_FALSE(rsp.has_user_info());
  EXPECT_EQ(rsp.attach_data(), kAttach);
  // Other names are not affected.
  EXPECT_EQ(Validate("user31", kClientPassword).result_code(), 0u);
}

TEST_F(LoginTest, AttachDataIsPresentEvenWhenTheRequestHadNone) {
  IM::Server::IMValidateRsp rsp = Validate("user4", kClientPassword, std::nullopt);

  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_TRUE(rsp.has_attach_data());
  EXPECT_EQ(rsp.attach_data(), "");
}

TEST_F(LoginTest, BodyWithoutPasswordAnswersResult2WithTheUserName) {
  IM::Server::IMValidateReq req;
  req.set_user_name("user5");
  req.set_attach_data(kAttach);
  std::string body = req.SerializePartialAsString();

  IM::Server::IMValidateRsp rsp = CallRaw(body);

  EXPECT_EQ(rsp.result_code(), 2u);
  EXPECT_EQ(rsp.result_string(), kInternal);
  EXPECT_EQ(rsp.user_name(), "user5");
  EXPECT_EQ(rsp.attach_data(), kAttach);
  EXPECT_FALSE(rsp.has_user_info());
}

TEST_F(LoginTest, GarbageBodyAnswersResult2WithAnEmptyUserName) {
  IM::Server::IMValidateRsp rsp = CallRaw(std::string("\xff\xff\xff\xff\x0f", 5));

  EXPECT_EQ(rsp.result_code(), 2u);
  EXPECT_EQ(rsp.result_string(), kInternal);
  EXPECT_TRUE(rsp.has_user_name());
  EXPECT_EQ(rsp.user_name(), "");
  EXPECT_TRUE(rsp.has_attach_data());
}

TEST_F(LoginTest, EmptyBodyAnswersResult2) { EXPECT_EQ(CallRaw("").result_code(), 2u); }

TEST_F(LoginTest, StorageFailureAnswersResult2AndIsNotCountedAsAFailedLogin) {
  db_->Exec("RENAME TABLE IMUser TO IMUser_away");
  for (int i = 0; i < 12; ++i) {
    IM::Server::IMValidateRsp rsp = Validate("user40", kClientPassword);
    EXPECT_EQ(rsp.result_code(), 2u);
    EXPECT_EQ(rsp.result_string(), kInternal);
    EXPECT_EQ(rsp.user_name(), "user40");
  }
  db_->Exec("RENAME TABLE IMUser_away TO IMUser");

  EXPECT_EQ(Validate("user40", kClientPassword).result_code(), 0u);
}

TEST(LoginOutage, MysqlDownAnswersResult2WithoutCountingAndRecovers) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  std::unique_ptr<TcpProxy> proxy = TcpProxy::Start(db->env().mysql_host, db->env().mysql_port);
  DaemonProcess daemon;
  DaemonProcess::Options options;
  options.plugins = {"login"};
  options.mysql_overrides["teamtalk_slave"].port = proxy->port();
  ASSERT_TRUE(daemon.Start(*db, *redis, options));
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon.port()));
  auto validate = [&](const std::string& password) {
    IM::Server::IMValidateReq req;
    req.set_user_name("user50");
    req.set_password(password);
    IM::Server::IMValidateRsp rsp;
    EXPECT_TRUE(client.CallMessage(kSidOther, kValidateReq, req, &rsp, 10000));
    return rsp;
  };
  ASSERT_EQ(validate(kClientPassword).result_code(), 0u);

  proxy->Cut();
  for (int i = 0; i < 12; ++i) {
    IM::Server::IMValidateRsp rsp = validate(kClientPassword);
    EXPECT_EQ(rsp.result_code(), 2u);
    EXPECT_EQ(rsp.result_string(), kInternal);
    EXPECT_EQ(rsp.user_name(), "user50");
  }
  ASSERT_TRUE(proxy->Restore());

  // Back once the pool reconnects; the 12 outages did not count as failed logins.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  uint32_t code = 2;
  while (code == 2 && std::chrono::steady_clock::now() < deadline) {
    code = validate(kClientPassword).result_code();
  }
  EXPECT_EQ(code, 0u);
}

TEST(LoginConfig, RejectsMaxFailuresOutOfRange) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  DaemonProcess daemon;
  DaemonProcess::Options options;
  options.plugins = {"login"};
  options.extra_yaml_modules = "login:\n  max_failures: 0\n";
  ASSERT_TRUE(daemon.Spawn(*db, *redis, options));

  std::optional<int> status = daemon.WaitExit(20000);
  ASSERT_TRUE(status.has_value()) << "dbproxyd started with max_failures 0";
  EXPECT_NE(*status, 0);
  EXPECT_NE(daemon.ReadLog().find("login.max_failures must be between 1 and 1000, got 0"),
            std::string::npos)
      << daemon.ReadLog();
}

TEST(LoginConfig, RejectsUnknownKeys) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  DaemonProcess daemon;
  DaemonProcess::Options options;
  options.plugins = {"login"};
  options.extra_yaml_modules = "login:\n  allow_any_password: true\n";
  ASSERT_TRUE(daemon.Spawn(*db, *redis, options));

  std::optional<int> status = daemon.WaitExit(20000);
  ASSERT_TRUE(status.has_value()) << "dbproxyd accepted login.allow_any_password";
  EXPECT_NE(*status, 0);
  EXPECT_NE(daemon.ReadLog().find("allow_any_password"), std::string::npos) << daemon.ReadLog();
}

}  // namespace
}  // namespace dbproxy::testing
