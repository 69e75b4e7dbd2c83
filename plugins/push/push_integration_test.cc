// push over the wire against a real dbproxyd, MariaDB and Redis: 0x0108 device tokens (the
// logout form included), 0x0705 push targets with quiet hours in a non-UTC zone and unread
// counts, 0x010c / 0x010e the do-not-disturb flag.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Login.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kSidLogin = 1;
constexpr uint16_t kSidOther = 7;
constexpr uint16_t kDeviceToken = 0x0108;
constexpr uint16_t kDeviceTokenRsp = 0x0109;
constexpr uint16_t kPushShield = 0x010c;
constexpr uint16_t kPushShieldRsp = 0x010d;
constexpr uint16_t kQueryShield = 0x010e;
constexpr uint16_t kQueryShieldRsp = 0x010f;
constexpr uint16_t kGetTokens = 0x0705;
constexpr uint16_t kGetTokensRsp = 0x0706;

using IM::BaseDefine::CLIENT_TYPE_ANDROID;
using IM::BaseDefine::CLIENT_TYPE_IOS;
using IM::BaseDefine::CLIENT_TYPE_WINDOWS;
using Ids = std::vector<uint32_t>;

const std::string kAttach("\x01\x00\x02\xfe attach", 11);

// Instants around midnight in Asia/Shanghai (UTC+8) on 2024-01-15/16.
constexpr int64_t kShanghai2159 = 1705327140;  // 2024-01-15 13:59 UTC = 21:59 local
constexpr int64_t kShanghai2200 = 1705327200;  // 14:00 UTC = 22:00 local
constexpr int64_t kShanghai2330 = 1705332600;  // 15:30 UTC = 23:30 local
constexpr int64_t kShanghai0030 = 1705336200;  // 16:30 UTC = 00:30 local (next day)
constexpr int64_t kShanghai0759 = 1705363140;  // 2024-01-15 23:59 UTC = 07:59 local
constexpr int64_t kShanghai0800 = 1705363200;  // 2024-01-16 00:00 UTC = 08:00 local

// The IMMsgData body msg_server puts in attach_data, with bytes that must survive exactly.
std::string MsgDataAttach() {
  IM::Message::IMMsgData msg;
  msg.set_from_user_id(201);
  msg.set_to_session_id(202);
  msg.set_msg_id(9);
  msg.set_create_time(1700000000);
  msg.set_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  msg.set_msg_data(std::string("\x00\xff\x80 body \x00", 10));
  msg.set_attach_data(std::string("\x00\x00\x00\x01", 4));
  return msg.SerializeAsString();
}

std::string PushYaml(int64_t now, const std::string& zone) {
  return "push:\n  time_zone: \"" + zone + "\"\n  quiet_hours_start: \"22:00\"\n" +
         "  quiet_hours_end: \"08:00\"\n  now_override_unix: " + std::to_string(now) + "\n";
}

class PushTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    daemon_ = new DaemonProcess();
    ASSERT_TRUE(daemon_->Start(*db_, *redis_, Options(kShanghai2330, "Asia/Shanghai")));
  }
  static void TearDownTestSuite() {
    delete daemon_;
    delete redis_;
    delete db_;
    daemon_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(daemon_, nullptr);
    ASSERT_TRUE(daemon_->running());
    ASSERT_TRUE(client_.Connect(daemon_->port()));
  }

  static DaemonOptions Options(int64_t now, const std::string& zone) {
    DaemonOptions options;
    options.plugins = {"push"};
    options.extra_yaml_modules = PushYaml(now, zone);
    return options;
  }
  void Restart(const DaemonOptions& options) {
    client_.Close();
    ASSERT_EQ(daemon_->Stop(), 0);
    ASSERT_TRUE(daemon_->Start(*db_, *redis_, options));
    ASSERT_TRUE(client_.Connect(daemon_->port()));
  }

  int TokenDb() const { return redis_->db("token"); }
  int UnreadDb() const { return redis_->db("unread"); }
  RedisReply TokenGet(const std::string& key) { return redis_->Command(TokenDb(), "GET", key); }

  IM::Login::IMDeviceTokenRsp SetToken(uint32_t user, const std::string& token,
                                       std::optional<IM::BaseDefine::ClientType> type,
                                       const std::string& attach = kAttach) {
    IM::Login::IMDeviceTokenReq req;
    req.set_user_id(user);
    req.set_device_token(token);
    if (type) {
      req.set_client_type(*type);
    }
    if (!attach.empty()) {
      req.set_attach_data(attach);
    }
    IM::Login::IMDeviceTokenRsp rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidLogin, kDeviceToken, req, &rsp, 5000, &frame));
    EXPECT_EQ(frame.service_id, kSidLogin);
    EXPECT_EQ(frame.command_id, kDeviceTokenRsp);
    EXPECT_EQ(rsp.user_id(), user);
    EXPECT_TRUE(rsp.has_attach_data());
    EXPECT_EQ(rsp.attach_data(), attach);
    return rsp;
  }

  IM::Server::IMGetDeviceTokenRsp GetTokens(const Ids& users,
                                            const std::string& attach = MsgDataAttach()) {
    IM::Server::IMGetDeviceTokenReq req;
    for (uint32_t u : users) {
      req.add_user_id(u);
    }
    req.set_attach_data(attach);
    IM::Server::IMGetDeviceTokenRsp rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidOther, kGetTokens, req, &rsp, 5000, &frame));
    EXPECT_EQ(frame.service_id, kSidOther);
    EXPECT_EQ(frame.command_id, kGetTokensRsp);
    EXPECT_EQ(rsp.attach_data(), attach) << "attach_data echoed byte-exact";
    return rsp;
  }

  IM::Login::IMPushShieldRsp SetShield(uint32_t user, uint32_t status) {
    IM::Login::IMPushShieldReq req;
    req.set_user_id(user);
    req.set_shield_status(status);
    req.set_attach_data(kAttach);
    IM::Login::IMPushShieldRsp rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidLogin, kPushShield, req, &rsp, 5000, &frame));
    EXPECT_EQ(frame.service_id, kSidLogin);
    EXPECT_EQ(frame.command_id, kPushShieldRsp);
    EXPECT_EQ(rsp.user_id(), user);
    EXPECT_EQ(rsp.attach_data(), kAttach);
    return rsp;
  }

  IM::Login::IMQueryPushShieldRsp QueryShield(uint32_t user) {
    IM::Login::IMQueryPushShieldReq req;
    req.set_user_id(user);
    req.set_attach_data(kAttach);
    IM::Login::IMQueryPushShieldRsp rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidLogin, kQueryShield, req, &rsp, 5000, &frame));
    EXPECT_EQ(frame.service_id, kSidLogin);
    EXPECT_EQ(frame.command_id, kQueryShieldRsp);
    EXPECT_EQ(rsp.user_id(), user);
    EXPECT_EQ(rsp.attach_data(), kAttach);
    return rsp;
  }

  // Users 601 (iOS, do not disturb), 602 (iOS), 603 (Android): the quiet-hours cast.
  void SetUpQuietHoursCast() {
    redis_->Command(TokenDb(), "SET", "device_601", "ios:tok601");
    redis_->Command(TokenDb(), "SET", "device_602", "ios:tok602");
    redis_->Command(TokenDb(), "SET", "device_603", "android:tok603");
    db_->Exec("UPDATE IMUser SET push_shield_status = 1 WHERE id IN (601, 603)");
  }
  Ids PushedAt(int64_t now, const std::string& zone) {
    Restart(Options(now, zone));
    Ids out;
    auto rsp = GetTokens({601, 602, 603});
    for (const auto& t : rsp.user_token_info()) {
      out.push_back(t.user_id());
    }
    return out;
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  static DaemonProcess* daemon_;
  WireClient client_;
};

TestDatabase* PushTest::db_ = nullptr;
TestRedis* PushTest::redis_ = nullptr;
DaemonProcess* PushTest::daemon_ = nullptr;

// ---- 0x0108 ---------------------------------------------------------------------------

TEST_F(PushTest, DeviceTokenIsStoredWithItsPlatformAndReverseMap) {
  SetToken(101, "tokA", CLIENT_TYPE_IOS);
  EXPECT_EQ(TokenGet("device_101").str, "ios:tokA");
  EXPECT_EQ(TokenGet("device_tokA").str, "101");

  SetToken(101, "tokB", CLIENT_TYPE_ANDROID);
  EXPECT_EQ(TokenGet("device_101").str, "android:tokB");
  EXPECT_EQ(TokenGet("device_tokB").str, "101");
  EXPECT_EQ(TokenGet("device_tokA").str, "") << "the previous token no longer points at 101";

  SetToken(102, "rawtok", CLIENT_TYPE_WINDOWS);
  EXPECT_EQ(TokenGet("device_102").str, "rawtok");
  SetToken(103, "notype", std::nullopt);
  EXPECT_EQ(TokenGet("device_103").str, "notype");
  EXPECT_EQ(TokenGet("device_notype").str, "103");
}

TEST_F(PushTest, PreviousTokenTakenByAnotherUserIsLeftAlone) {
  SetToken(111, "shared", CLIENT_TYPE_IOS);
  SetToken(112, "shared", CLIENT_TYPE_IOS);  // the device now belongs to 112
  EXPECT_EQ(TokenGet("device_shared").str, "112");
  SetToken(111, "fresh", CLIENT_TYPE_IOS);  // 111 moves on: must not unmap 112's device
  EXPECT_EQ(TokenGet("device_shared").str, "112");
  EXPECT_EQ(TokenGet("device_fresh").str, "111");
}

TEST_F(PushTest, LogoutFormClearsTheTokenWithoutTheJunkKey) {
  SetToken(121, "tokL", CLIENT_TYPE_IOS);
  // As msg_server sends it on logout: empty token, no client_type, no attach_data.
  auto rsp = SetToken(121, "", std::nullopt, "");
  EXPECT_EQ(rsp.attach_data(), "");
  auto cleared = TokenGet("device_121");
  EXPECT_FALSE(cleared.is_nil());
  EXPECT_EQ(cleared.str, "");
  EXPECT_EQ(TokenGet("device_tokL").str, "");
  EXPECT_EQ(redis_->Command(TokenDb(), "EXISTS", "device_").integer, 0)
      << "TeamTalk set device_ (empty suffix) to the uid";
  // A logged-out user gets no push.
  EXPECT_EQ(GetTokens({121}).user_token_info_size(), 0);
}

TEST_F(PushTest, TokensAreBinarySafeAndInjectionShaped) {
  const std::string token("a b'\"; DEL *\x00z", 14);
  SetToken(131, token, CLIENT_TYPE_ANDROID);
  EXPECT_EQ(TokenGet("device_131").str, "android:" + token);
  EXPECT_EQ(TokenGet("device_" + token).str, "131");
  auto rsp = GetTokens({131});
  ASSERT_EQ(rsp.user_token_info_size(), 1);
  EXPECT_EQ(rsp.user_token_info(0).token(), token);
}

TEST_F(PushTest, DeviceTokenAnswersEvenWhenRedisFails) {
  redis_->Command(TokenDb(), "HSET", "device_141", "f", "v");  // GET now fails: WRONGTYPE
  SetToken(141, "tokR", CLIENT_TYPE_IOS);
  EXPECT_TRUE(redis_->Command(TokenDb(), "GET", "device_tokR").is_nil());
  auto frame = client_.Call(kSidLogin, kDeviceToken, std::string("\x08\x01", 2));  // no token
  ASSERT_TRUE(frame.has_value()) << "a body that does not parse is answered too";
  EXPECT_EQ(frame->command_id, kDeviceTokenRsp);
  IM::Login::IMDeviceTokenRsp rsp;
  ASSERT_TRUE(rsp.ParseFromString(frame->body));
  EXPECT_EQ(rsp.user_id(), 1u);
}

TEST_F(PushTest, EveryCommandAnswersWhileRedisIsDown) {
  auto token = TcpProxy::Start(redis_->env().redis_host, redis_->env().redis_port);
  auto unread = TcpProxy::Start(redis_->env().redis_host, redis_->env().redis_port);
  ASSERT_NE(token, nullptr);
  ASSERT_NE(unread, nullptr);
  DaemonOptions options = Options(kShanghai2330, "Asia/Shanghai");
  options.redis_ports["token"] = token->port();
  options.redis_ports["unread"] = unread->port();
  Restart(options);
  redis_->Command(TokenDb(), "SET", "device_151", "android:t151");
  ASSERT_EQ(GetTokens({151}).user_token_info_size(), 1);
  token->Cut();
  unread->Cut();
  SetToken(151, "t151b", CLIENT_TYPE_ANDROID);  // answered, not stored
  EXPECT_EQ(TokenGet("device_151").str, "android:t151");
  EXPECT_EQ(GetTokens({151}).user_token_info_size(), 0);
  EXPECT_EQ(SetShield(151, 0).result_code(), 0u) << "MySQL only";
  Restart(Options(kShanghai2330, "Asia/Shanghai"));
}

// ---- 0x0705 ---------------------------------------------------------------------------

TEST_F(PushTest, TokensOfMobileUsersWithUnreadCountsInRequestOrder) {
  // 201 iOS, 202 Android, 203 PC (raw), 204 logged out, 205 unknown prefix, 206 no key.
  redis_->Command(TokenDb(), "SET", "device_201", "ios:t201");
  redis_->Command(TokenDb(), "SET", "device_202", "android:t202");
  redis_->Command(TokenDb(), "SET", "device_203", "pc-token");
  redis_->Command(TokenDb(), "SET", "device_204", "");
  redis_->Command(TokenDb(), "SET", "device_205", "blackberry:t205");
  // Unread: 201 has single 2 + 3 and group 4 (members 1-500): 10 - 4 = 6 -> 11.
  // 202 has no marker for group 4: 10. Group 2 (members 1-100) does not include them.
  redis_->Command(UnreadDb(), "HSET", "unread_201", "5", "2", "6", "3");
  redis_->Command(UnreadDb(), "HSET", "4_im_group_msg", "count", "10");
  redis_->Command(UnreadDb(), "HSET", "201_4_im_user_group", "count", "4");
  redis_->Command(UnreadDb(), "HSET", "2_im_group_msg", "count", "99");

  auto rsp = GetTokens({202, 206, 205, 204, 203, 201, 202});
  ASSERT_EQ(rsp.user_token_info_size(), 2);
  const auto& a = rsp.user_token_info(0);
  EXPECT_EQ(a.user_id(), 202u);
  EXPECT_EQ(a.user_type(), CLIENT_TYPE_ANDROID);
  EXPECT_EQ(a.token(), "t202");
  EXPECT_EQ(a.push_count(), 10u);
  EXPECT_EQ(a.push_type(), 1u);
  const auto& i = rsp.user_token_info(1);
  EXPECT_EQ(i.user_id(), 201u);
  EXPECT_EQ(i.user_type(), CLIENT_TYPE_IOS);
  EXPECT_EQ(i.token(), "t201");
  EXPECT_EQ(i.push_count(), 11u);
  EXPECT_EQ(i.push_type(), 1u);
}

TEST_F(PushTest, GroupUnreadIsNeverNegative) {
  redis_->Command(TokenDb(), "SET", "device_211", "android:t211");
  redis_->Command(UnreadDb(), "HSET", "4_im_group_msg", "count", "10");
  redis_->Command(UnreadDb(), "HSET", "211_4_im_user_group", "count", "15");
  redis_->Command(UnreadDb(), "HSET", "unread_211", "7", "1");
  auto rsp = GetTokens({211});
  ASSERT_EQ(rsp.user_token_info_size(), 1);
  EXPECT_EQ(rsp.user_token_info(0).push_count(), 1u);
}

TEST_F(PushTest, EmptyAndUnparsableRequestsAreAnswered) {
  auto empty = GetTokens({});
  EXPECT_EQ(empty.user_token_info_size(), 0);
  auto frame = client_.Call(kSidOther, kGetTokens, std::string("\x0a\x05\x01", 3));
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->command_id, kGetTokensRsp);
  IM::Server::IMGetDeviceTokenRsp rsp;
  ASSERT_TRUE(rsp.ParseFromString(frame->body));
  EXPECT_EQ(rsp.user_token_info_size(), 0);
}

TEST_F(PushTest, QuietHoursCrossMidnightInTheConfiguredZone) {
  SetUpQuietHoursCast();
  // 601 (iOS, shielded) is left out inside 22:00-08:00 Shanghai time only; 603 is Android,
  // whose flag TeamTalk never checked; 602 is not shielded.
  EXPECT_EQ(PushedAt(kShanghai2159, "Asia/Shanghai"), (Ids{601, 602, 603}));
  EXPECT_EQ(PushedAt(kShanghai2200, "Asia/Shanghai"), (Ids{602, 603}));
  EXPECT_EQ(PushedAt(kShanghai2330, "Asia/Shanghai"), (Ids{602, 603}));
  EXPECT_EQ(PushedAt(kShanghai0030, "Asia/Shanghai"), (Ids{602, 603}));
  EXPECT_EQ(PushedAt(kShanghai0759, "Asia/Shanghai"), (Ids{602, 603}));
  EXPECT_EQ(PushedAt(kShanghai0800, "Asia/Shanghai"), (Ids{601, 602, 603}));
  // The same instants in UTC: 14:00 and 15:30 are daytime, 23:59 is quiet.
  EXPECT_EQ(PushedAt(kShanghai2330, "UTC"), (Ids{601, 602, 603}));
  EXPECT_EQ(PushedAt(kShanghai0759, "UTC"), (Ids{602, 603}));
}

TEST_F(PushTest, ShieldLookupFailureStillPushes) {
  SetUpQuietHoursCast();
  auto proxy = TcpProxy::Start(db_->env().mysql_host, db_->env().mysql_port);
  ASSERT_NE(proxy, nullptr);
  DaemonOptions options = Options(kShanghai2330, "Asia/Shanghai");
  options.mysql_overrides["teamtalk_slave"].port = proxy->port();
  Restart(options);
  EXPECT_EQ(GetTokens({601, 602}).user_token_info_size(), 1) << "601 is shielded";
  proxy->Cut();
  auto rsp = GetTokens({601, 602});
  ASSERT_EQ(rsp.user_token_info_size(), 2) << "flags unreadable: push rather than lose it";
  EXPECT_EQ(rsp.user_token_info(0).push_count(), 0u);
  Restart(Options(kShanghai2330, "Asia/Shanghai"));
}

// ---- 0x010c / 0x010e -------------------------------------------------------------------

TEST_F(PushTest, PushShieldIsSetAndQueried) {
  auto on = SetShield(301, 1);
  EXPECT_EQ(on.result_code(), 0u);
  ASSERT_TRUE(on.has_shield_status());
  EXPECT_EQ(on.shield_status(), 1u);
  EXPECT_EQ(db_->QueryValue("SELECT push_shield_status FROM IMUser WHERE id = 301"), "1");
  auto again = SetShield(301, 1);  // unchanged row: still success (W36)
  EXPECT_EQ(again.result_code(), 0u);
  EXPECT_EQ(again.shield_status(), 1u);

  auto query = QueryShield(301);
  EXPECT_EQ(query.result_code(), 0u);
  ASSERT_TRUE(query.has_shield_status());
  EXPECT_EQ(query.shield_status(), 1u);

  EXPECT_EQ(SetShield(301, 0).result_code(), 0u);
  EXPECT_EQ(QueryShield(301).shield_status(), 0u);
}

TEST_F(PushTest, PushShieldRefusesUnknownUsersAndValues) {
  auto bad_value = SetShield(302, 2);
  EXPECT_EQ(bad_value.result_code(), 1u);
  EXPECT_FALSE(bad_value.has_shield_status());
  EXPECT_EQ(db_->QueryValue("SELECT push_shield_status FROM IMUser WHERE id = 302"), "0");
  auto unknown = SetShield(999999, 1);
  EXPECT_EQ(unknown.result_code(), 1u);
  EXPECT_FALSE(unknown.has_shield_status());
  auto query = QueryShield(999999);
  EXPECT_EQ(query.result_code(), 1u);
  EXPECT_FALSE(query.has_shield_status());

  auto frame = client_.Call(kSidLogin, kPushShield, std::string("\x08\x05", 2));
  ASSERT_TRUE(frame.has_value());
  IM::Login::IMPushShieldRsp rsp;
  ASSERT_TRUE(rsp.ParseFromString(frame->body));
  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_EQ(rsp.user_id(), 5u);
}

TEST_F(PushTest, PushShieldStorageErrorsAnswerFailure) {
  db_->Exec("RENAME TABLE IMUser TO IMUser_away");
  EXPECT_EQ(SetShield(303, 1).result_code(), 1u);
  EXPECT_EQ(QueryShield(303).result_code(), 1u);
  db_->Exec("RENAME TABLE IMUser_away TO IMUser");
  EXPECT_EQ(QueryShield(303).result_code(), 0u);
}

TEST_F(PushTest, BadConfigValuesStopStartUpWithTheReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"push:\n  time_zone: Mars/Olympus_Mons\n",
       "push.time_zone: time zone 'Mars/Olympus_Mons': cannot read"},
      {"push:\n  time_zone: ../../etc/passwd\n",
       "push.time_zone: time zone '../../etc/passwd': must be an IANA name"},
      {"push:\n  quiet_hours_start: \"24:00\"\n",
       "push.quiet_hours_start must be HH:MM (00:00-23:59), got '24:00'"},
      {"push:\n  quiet_hours_end: \"8:00\"\n",
       "push.quiet_hours_end must be HH:MM (00:00-23:59), got '8:00'"},
      {"push:\n  max_users_per_request: 0\n",
       "push.max_users_per_request must be between 1 and 100000, got 0"},
      {"push:\n  now_override_unix: -5\n", "push.now_override_unix must be 0 (off)"},
  };
  for (const auto& [yaml, reason] : cases) {
    DaemonOptions options;
    options.plugins = {"push"};
    options.extra_yaml_modules = yaml;
    ExpectStartupRefused(*db_, *redis_, options, reason);
  }
}

}  // namespace
}  // namespace dbproxy::testing
