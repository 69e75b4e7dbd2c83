// group_chat over the wire against a real dbproxyd (with group_member for the membership
// service), MariaDB and Redis: 0x0401 normal group list, 0x0403 group info, 0x0405 create,
// 0x0409 set shield, 0x0711 get shields.

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Group.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kSidGroup = 4;
constexpr uint16_t kSidOther = 7;
constexpr uint16_t kList = 0x0401;
constexpr uint16_t kInfo = 0x0403;
constexpr uint16_t kCreate = 0x0405;
constexpr uint16_t kShield = 0x0409;
constexpr uint16_t kGetShield = 0x0711;

using IM::BaseDefine::GROUP_TYPE_NORMAL;
using IM::BaseDefine::GROUP_TYPE_TMP;
using Ids = std::vector<uint32_t>;

uint32_t Now() { return static_cast<uint32_t>(std::time(nullptr)); }

template <class List>
Ids ToIds(const List& list) {
  return Ids(list.begin(), list.end());
}

void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>(v >> shift));
  }
}

// A group message as msg_server has it: IMMsgData with binary msg_data.
std::string MsgDataBody(uint32_t from, uint32_t group) {
  IM::Message::IMMsgData msg;
  msg.set_from_user_id(from);
  msg.set_to_session_id(group);
  msg.set_msg_id(17);
  msg.set_create_time(1700000123);
  msg.set_msg_type(IM::BaseDefine::MSG_TYPE_GROUP_TEXT);
  msg.set_msg_data(std::string("\x00\xff\x01hello\x00", 9));
  msg.set_attach_data(std::string("\x00\x00\x00\x01\x00\x00\x00\x2a\x00\x00\x00\x00", 12));
  std::string body;
  msg.SerializeToString(&body);
  return body;
}

// CPduAttachData(type 3 = handle and pdu, handle, service 0, pdu) as the fan-out sends it.
std::string PduAttach(uint32_t handle, const std::string& pdu) {
  std::string out;
  PutU32(&out, 3);
  PutU32(&out, handle);
  PutU32(&out, 0);
  PutU32(&out, static_cast<uint32_t>(pdu.size()));
  return out + pdu;
}

class GroupChatTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    daemon_ = new DaemonProcess();
    ASSERT_TRUE(daemon_->Start(*db_, *redis_, Options(false)));
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

  static DaemonOptions Options(bool public_info) {
    DaemonOptions options;
    options.plugins = {"group_member", "group_chat"};
    if (public_info) {
      options.extra_yaml_modules = "group_chat:\n  public_info: true\n";
    }
    return options;
  }

  static int MemberDb() { return redis_->db("group_member"); }

  IM::Group::IMGroupCreateRsp Create(uint32_t creator, IM::BaseDefine::GroupType type,
                                     const std::string& name, const Ids& members,
                                     const std::string& attach = "") {
    IM::Group::IMGroupCreateReq req;
    req.set_user_id(creator);
    req.set_group_type(type);
    req.set_group_name(name);
    req.set_group_avatar("http://a/" + name);
    for (uint32_t id : members) {
      req.add_member_id_list(id);
    }
    if (!attach.empty()) {
      req.set_attach_data(attach);
    }
    IM::Group::IMGroupCreateRsp rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidGroup, kCreate, req, &rsp, 5000, &frame));
    EXPECT_EQ(frame.service_id, kSidGroup);
    EXPECT_EQ(frame.command_id, 0x0406);
    EXPECT_EQ(rsp.user_id(), creator);
    EXPECT_EQ(rsp.group_name(), name);
    return rsp;
  }

  IM::Group::IMGroupInfoListRsp Info(WireClient& client, uint32_t user,
                                     const std::vector<std::pair<uint32_t, uint32_t>>& asked,
                                     const std::string& attach = "") {
    IM::Group::IMGroupInfoListReq req;
    req.set_user_id(user);
    for (auto [group, version] : asked) {
      IM::BaseDefine::GroupVersionInfo* v = req.add_group_version_list();
      v->set_group_id(group);
      v->set_version(version);
    }
    if (!attach.empty()) {
      req.set_attach_data(attach);
    }
    IM::Group::IMGroupInfoListRsp rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client.CallMessage(kSidGroup, kInfo, req, &rsp, 10000, &frame));
    EXPECT_EQ(frame.service_id, kSidGroup);
    EXPECT_EQ(frame.command_id, 0x0404);
    EXPECT_EQ(rsp.user_id(), user);
    return rsp;
  }
  IM::Group::IMGroupInfoListRsp Info(uint32_t user,
                                     const std::vector<std::pair<uint32_t, uint32_t>>& asked,
                                     const std::string& attach = "") {
    return Info(client_, user, asked, attach);
  }

  IM::Group::IMGroupShieldRsp SetShield(uint32_t user, uint32_t group, uint32_t status) {
    IM::Group::IMGroupShieldReq req;
    req.set_user_id(user);
    req.set_group_id(group);
    req.set_shield_status(status);
    req.set_attach_data("s");
    IM::Group::IMGroupShieldRsp rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidGroup, kShield, req, &rsp, 5000, &frame));
    EXPECT_EQ(frame.service_id, kSidGroup);
    EXPECT_EQ(frame.command_id, 0x040a);
    EXPECT_EQ(rsp.user_id(), user);
    EXPECT_EQ(rsp.group_id(), group);
    EXPECT_EQ(rsp.attach_data(), "s");
    return rsp;
  }

  IM::Server::IMGroupGetShieldRsp GetShield(uint32_t group, const Ids& users,
                                            const std::string& attach) {
    IM::Server::IMGroupGetShieldReq req;
    req.set_group_id(group);
    for (uint32_t id : users) {
      req.add_user_id(id);
    }
    req.set_attach_data(attach);
    IM::Server::IMGroupGetShieldRsp rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidOther, kGetShield, req, &rsp, 5000, &frame));
    EXPECT_EQ(frame.service_id, kSidOther);
    EXPECT_EQ(frame.command_id, 0x0712);
    EXPECT_EQ(rsp.group_id(), group);
    EXPECT_EQ(rsp.attach_data(), attach);
    return rsp;
  }

  static std::string Value(const std::string& sql) {
    return db_->QueryValue(sql).value_or("<none>");
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  static DaemonProcess* daemon_;
  WireClient client_;
};

TestDatabase* GroupChatTest::db_ = nullptr;
TestRedis* GroupChatTest::redis_ = nullptr;
DaemonProcess* GroupChatTest::daemon_ = nullptr;

TEST_F(GroupChatTest, CreateStoresTheGroupItsMembersTheRedisHashAndACounter) {
  uint32_t before = Now();
  std::string name = "chat \xe7\xbe\xa4";

  auto rsp = Create(20, GROUP_TYPE_TMP, name, {23, 22, 22, 0, 25}, std::string("att\0", 4));

  uint32_t after = Now();
  ASSERT_EQ(rsp.result_code(), 0u);
  ASSERT_TRUE(rsp.has_group_id());
  uint32_t group = rsp.group_id();
  std::string g = std::to_string(group);
  EXPECT_GT(group, 4u);
  EXPECT_EQ(ToIds(rsp.user_id_list()), (Ids{22, 23, 25}));  // creator 20 not added implicitly
  EXPECT_EQ(rsp.attach_data(), std::string("att\0", 4));
  auto row = db_->Query(
      "SELECT name, avatar, creator, type, userCnt, status, version, lastChated, "
      "created, updated FROM IMGroup WHERE id = " +
      g);
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0], name);
  EXPECT_EQ(row[0][1], "http://a/" + name);
  EXPECT_EQ(row[0][2], "20");
  EXPECT_EQ(row[0][3], "2");
  EXPECT_EQ(row[0][4], "3");  // W14: not doubled
  EXPECT_EQ(row[0][5], "0");
  EXPECT_EQ(row[0][6], "1");
  EXPECT_EQ(row[0][7], "0");
  uint32_t created = static_cast<uint32_t>(std::stoul(*row[0][8]));
  EXPECT_GE(created, before);
  EXPECT_LE(created, after);
  EXPECT_EQ(row[0][9], row[0][8]);
  auto members = db_->Query(
      "SELECT userId, status, created, updated FROM IMGroupMember WHERE "
      "groupId = " +
      g + " ORDER BY userId");
  ASSERT_EQ(members.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(members[i][0], std::to_string(Ids{22, 23, 25}[i]));
    EXPECT_EQ(members[i][1], "0");
    EXPECT_EQ(members[i][2], row[0][8]);
    EXPECT_EQ(members[i][3], row[0][8]);
  }
  RedisReply hash = redis_->Command(MemberDb(), "HGETALL", "group_member_" + g);
  ASSERT_EQ(hash.elements.size(), 6u);
  for (size_t i = 0; i < 6; i += 2) {
    EXPECT_EQ(hash.elements[i + 1].str, *row[0][8]);
  }
  EXPECT_EQ(redis_->Command(redis_->db("unread"), "GET", "group_msg_id_" + g).str, "0");
}

TEST_F(GroupChatTest, CreateNeverWipesAnExistingMessageCounter) {
  auto first = Create(30, GROUP_TYPE_NORMAL, "first", {30});
  ASSERT_EQ(first.result_code(), 0u);
  uint32_t next = first.group_id() + 1;
  redis_->Command(redis_->db("unread"), "SET", "group_msg_id_" + std::to_string(next), 42);
  // A leftover hash of an older group with the same id must not survive either.
  redis_->Command(MemberDb(), "HSET", "group_member_" + std::to_string(next), 999, 1);

  auto second = Create(30, GROUP_TYPE_NORMAL, "second", {30, 31});

  ASSERT_EQ(second.result_code(), 0u);
  ASSERT_EQ(second.group_id(), next);
  EXPECT_EQ(
      redis_->Command(redis_->db("unread"), "GET", "group_msg_id_" + std::to_string(next)).str,
      "42");
  EXPECT_EQ(
      redis_->Command(MemberDb(), "HEXISTS", "group_member_" + std::to_string(next), 999).integer,
      0);
  EXPECT_EQ(redis_->Command(MemberDb(), "HLEN", "group_member_" + std::to_string(next)).integer, 2);
}

TEST_F(GroupChatTest, CreateRefusesAnEmptyNameOrNoMembers) {
  std::string groups_before = Value("SELECT COUNT(*) FROM IMGroup");

  auto no_name = Create(40, GROUP_TYPE_TMP, "", {40, 41}, "x");
  auto no_members = Create(40, GROUP_TYPE_TMP, "name", {0, 0});

  EXPECT_EQ(no_name.result_code(), 1u);
  EXPECT_FALSE(no_name.has_group_id());
  EXPECT_TRUE(no_name.user_id_list().empty());
  EXPECT_EQ(no_name.attach_data(), "x");
  EXPECT_EQ(no_members.result_code(), 1u);
  EXPECT_FALSE(no_members.has_group_id());
  EXPECT_EQ(Value("SELECT COUNT(*) FROM IMGroup"), groups_before);
}

TEST_F(GroupChatTest, CreateWithAnUnknownGroupTypeAnswersResultOne) {
  // user_id 5, group_type 9, name "n", avatar "", member 6.
  std::string body("\x08\x05\x10\x09\x1a\x01n\x22\x00\x28\x06", 11);

  auto frame = client_.Call(kSidGroup, kCreate, body);

  ASSERT_TRUE(frame.has_value());
  IM::Group::IMGroupCreateRsp rsp;
  ASSERT_TRUE(rsp.ParseFromString(frame->body));
  EXPECT_EQ(rsp.user_id(), 5u);
  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_EQ(rsp.group_name(), "n");
  EXPECT_FALSE(rsp.has_group_id());
  EXPECT_TRUE(rsp.has_attach_data());  // present even when the request had none
}

TEST_F(GroupChatTest, NormalGroupListHasOnlyNormalGroupsOfTheUser) {
  IM::Group::IMNormalGroupListReq req;
  req.set_user_id(2);
  req.set_attach_data(std::string("\x00\x01", 2));
  IM::Group::IMNormalGroupListRsp rsp;
  WireClient::Frame frame;
  ASSERT_TRUE(client_.CallMessage(kSidGroup, kList, req, &rsp, 5000, &frame));

  EXPECT_EQ(frame.command_id, 0x0402);
  EXPECT_EQ(frame.service_id, kSidGroup);
  EXPECT_EQ(rsp.user_id(), 2u);
  EXPECT_EQ(rsp.attach_data(), std::string("\x00\x01", 2));
  std::set<uint32_t> groups;
  for (const auto& v : rsp.group_version_list()) {
    groups.insert(v.group_id());
    EXPECT_EQ(v.version(), 1u) << v.group_id();
  }
  EXPECT_EQ(groups, (std::set<uint32_t>{1, 2, 4}));  // not 3, a temporary group

  req.set_user_id(1000);
  ASSERT_TRUE(client_.CallMessage(kSidGroup, kList, req, &rsp));
  EXPECT_EQ(rsp.group_version_list_size(), 0);
}

TEST_F(GroupChatTest, GroupInfoIsReturnedOnlyForOlderVersions) {
  auto rsp = Info(1, {{1, 0}, {2, 1}, {4, 5}});

  ASSERT_EQ(rsp.group_info_list_size(), 1);
  const IM::BaseDefine::GroupInfo& info = rsp.group_info_list(0);
  EXPECT_EQ(info.group_id(), 1u);
  EXPECT_EQ(info.version(), 1u);
  EXPECT_EQ(info.group_name(), "group-1-10");
  EXPECT_EQ(info.group_avatar(), "");
  EXPECT_EQ(info.group_creator_id(), 1u);
  EXPECT_EQ(info.group_type(), GROUP_TYPE_NORMAL);
  EXPECT_EQ(info.shield_status(), 0u);
  EXPECT_EQ(ToIds(info.group_member_list()), (Ids{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_TRUE(rsp.has_attach_data());
  EXPECT_EQ(rsp.attach_data(), "");
}

TEST_F(GroupChatTest, GroupInfoOfTheFanOutEchoesAWholeMessageByteExact) {
  std::string attach = PduAttach(0x2a, MsgDataBody(250, 4));

  auto rsp = Info(250, {{4, 0}}, attach);

  ASSERT_EQ(rsp.group_info_list_size(), 1);
  EXPECT_EQ(rsp.group_info_list(0).group_member_list_size(), 500);
  EXPECT_EQ(rsp.attach_data(), attach);
  IM::Message::IMMsgData echoed;
  ASSERT_TRUE(echoed.ParseFromString(rsp.attach_data().substr(16)));
  EXPECT_EQ(echoed.msg_data(), std::string("\x00\xff\x01hello\x00", 9));
}

TEST_F(GroupChatTest, GroupInfoIsDeniedToNonMembersUnlessPublicOrAdmin) {
  EXPECT_EQ(Info(50, {{1, 0}}).group_info_list_size(), 0);
  EXPECT_EQ(Info(0, {{1, 0}}).group_info_list_size(), 1);
  EXPECT_EQ(Info(5, {{1, 0}, {999999, 0}}).group_info_list_size(), 1);

  DaemonProcess open;
  ASSERT_TRUE(open.Start(*db_, *redis_, Options(true)));
  WireClient client;
  ASSERT_TRUE(client.Connect(open.port()));
  auto rsp = Info(client, 50, {{1, 0}, {3, 0}});
  ASSERT_EQ(rsp.group_info_list_size(), 2);
  std::set<uint32_t> ids = {rsp.group_info_list(0).group_id(), rsp.group_info_list(1).group_id()};
  EXPECT_EQ(ids, (std::set<uint32_t>{1, 3}));
}

TEST_F(GroupChatTest, GroupInfoOfAGroupJustChangedInMysqlShowsTheNewVersion) {
  auto created = Create(60, GROUP_TYPE_NORMAL, "versions", {60, 61});
  ASSERT_EQ(created.result_code(), 0u);
  uint32_t group = created.group_id();

  auto v1 = Info(60, {{group, 0}});
  ASSERT_EQ(v1.group_info_list_size(), 1);
  EXPECT_EQ(v1.group_info_list(0).version(), 1u);
  EXPECT_EQ(Info(60, {{group, 1}}).group_info_list_size(), 0);

  IM::Group::IMGroupChangeMemberReq change;
  change.set_user_id(60);
  change.set_change_type(IM::BaseDefine::GROUP_MODIFY_TYPE_ADD);
  change.set_group_id(group);
  change.add_member_id_list(62);
  IM::Group::IMGroupChangeMemberRsp changed;
  ASSERT_TRUE(client_.CallMessage(kSidGroup, 0x0407, change, &changed));
  ASSERT_EQ(changed.result_code(), 0u);

  auto v2 = Info(62, {{group, 1}});
  ASSERT_EQ(v2.group_info_list_size(), 1);
  EXPECT_EQ(v2.group_info_list(0).version(), 2u);
  EXPECT_EQ(ToIds(v2.group_info_list(0).group_member_list()), (Ids{60, 61, 62}));
}

TEST_F(GroupChatTest, ShieldIsSetByMembersOnlyAndReadBackInRequestOrder) {
  EXPECT_EQ(SetShield(3, 1, 1).result_code(), 0u);
  EXPECT_EQ(SetShield(5, 1, 0).result_code(), 0u);
  EXPECT_EQ(SetShield(50, 1, 1).result_code(), 1u);      // not a member
  EXPECT_EQ(SetShield(3, 999999, 1).result_code(), 1u);  // no such group
  EXPECT_EQ(redis_->Command(redis_->db("group_set"), "HGET", "group_set_1", "3_1").str, "1");
  EXPECT_EQ(redis_->Command(redis_->db("group_set"), "HGET", "group_set_1", "5_1").str, "0");
  EXPECT_EQ(redis_->Command(redis_->db("group_set"), "HEXISTS", "group_set_1", "50_1").integer, 0);

  std::string attach = MsgDataBody(4, 1);
  auto rsp = GetShield(1, {3, 4, 3, 5, 77}, attach);

  ASSERT_EQ(rsp.shield_status_list_size(), 5);
  Ids users;
  Ids statuses;
  for (const auto& s : rsp.shield_status_list()) {
    users.push_back(s.user_id());
    statuses.push_back(s.shield_status());
    EXPECT_EQ(s.group_id(), 1u);
  }
  EXPECT_EQ(users, (Ids{3, 4, 3, 5, 77}));
  EXPECT_EQ(statuses, (Ids{1, 0, 1, 0, 0}));
}

TEST_F(GroupChatTest, ShieldsOfAnUnknownGroupAreAnEmptyList) {
  auto rsp = GetShield(999999, {1, 2}, "raw");

  EXPECT_EQ(rsp.shield_status_list_size(), 0);
}

TEST_F(GroupChatTest, UnparsableBodiesStillGetAnAnswer) {
  auto list = client_.Call(kSidGroup, kList, "");                  // user_id missing
  auto info = client_.Call(kSidGroup, kInfo, "\x12\x02\x08\x01");  // entry without version
  auto shield = client_.Call(kSidGroup, kShield, "\x08\x03");
  auto get = client_.Call(kSidOther, kGetShield, "\x10\x03");

  ASSERT_TRUE(list.has_value());
  IM::Group::IMNormalGroupListRsp list_rsp;
  EXPECT_TRUE(list_rsp.ParseFromString(list->body));
  EXPECT_EQ(list_rsp.group_version_list_size(), 0);
  ASSERT_TRUE(info.has_value());
  IM::Group::IMGroupInfoListRsp info_rsp;
  EXPECT_TRUE(info_rsp.ParseFromString(info->body));
  EXPECT_EQ(info_rsp.group_info_list_size(), 0);
  ASSERT_TRUE(shield.has_value());
  IM::Group::IMGroupShieldRsp shield_rsp;
  EXPECT_TRUE(shield_rsp.ParseFromString(shield->body));
  EXPECT_EQ(shield_rsp.user_id(), 3u);
  EXPECT_EQ(shield_rsp.result_code(), 1u);
  ASSERT_TRUE(get.has_value());
  IM::Server::IMGroupGetShieldRsp get_rsp;
  EXPECT_TRUE(get_rsp.ParseFromString(get->body));
  EXPECT_EQ(get_rsp.shield_status_list_size(), 0);
}

TEST_F(GroupChatTest, BadConfigValuesStopStartUpNamingTheKey) {
  for (const char* yaml :
       {"group_chat:\n  max_groups: 0\n", "group_chat:\n  max_members_per_change: 100001\n",
        "group_chat:\n  public_info: maybe\n"}) {
    DaemonProcess broken;
    DaemonOptions options = Options(false);
    options.extra_yaml_modules = yaml;
    ASSERT_TRUE(broken.Spawn(*db_, *redis_, options));
    std::optional<int> status = broken.WaitExit(20000);
    ASSERT_TRUE(status.has_value()) << yaml;
    EXPECT_NE(*status, 0) << yaml;
    std::string text = yaml;
    size_t at = text.find("\n  ") + 3;
    std::string key = text.substr(at, text.find(':', at) - at);
    EXPECT_NE(broken.ReadLog().find("config key '" + key + "' must be"), std::string::npos)
        << yaml << broken.ReadLog();
  }
}

}  // namespace
}  // namespace dbproxy::testing
