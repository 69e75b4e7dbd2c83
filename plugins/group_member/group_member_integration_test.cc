// group_member over the wire: CID_GROUP_CHANGE_MEMBER_REQUEST 0x0407 against a real dbproxyd,
// MariaDB and Redis, and the membership service (internal 0xF001) as the group_chat module
// sees it: rebuild of a lost Redis hash, groups made directly in MySQL, groups whose last
// member left, and that 0xF001 cannot be reached from the network.

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Group.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/http_get.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kSidGroup = 4;
constexpr uint16_t kCreate = 0x0405;
constexpr uint16_t kInfo = 0x0403;
constexpr uint16_t kShield = 0x0409;
constexpr uint16_t kChange = 0x0407;
constexpr uint16_t kChangeRsp = 0x0408;
constexpr uint16_t kMembershipInternal = 0xF001;

using IM::BaseDefine::GROUP_MODIFY_TYPE_ADD;
using IM::BaseDefine::GROUP_MODIFY_TYPE_DEL;
using IM::BaseDefine::GROUP_TYPE_NORMAL;
using IM::BaseDefine::GROUP_TYPE_TMP;
using Ids = std::vector<uint32_t>;

uint32_t Now() { return static_cast<uint32_t>(std::time(nullptr)); }

template <class List>
Ids ToIds(const List& list) {
  return Ids(list.begin(), list.end());
}

// The value of an unlabelled Prometheus counter; -1 if absent.
long long Metric(const std::string& text, const std::string& name) {
  size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) {
    return -1;
  }
  return std::stoll(text.substr(at + name.size() + 2));
}

class GroupMemberTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    daemon_ = new DaemonProcess();
    DaemonOptions options;
    options.plugins = {"group_member", "group_chat"};
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

  static int MemberDb() { return redis_->db("group_member"); }
  static int UnreadDb() { return redis_->db("unread"); }

  // 0x0405 as the given creator; the new group's id.
  uint32_t CreateGroup(uint32_t creator, IM::BaseDefine::GroupType type, const Ids& members) {
    IM::Group::IMGroupCreateReq req;
    req.set_user_id(creator);
    req.set_group_type(type);
    req.set_group_name("g-by-" + std::to_string(creator));
    req.set_group_avatar("");
    for (uint32_t id : members) {
      req.add_member_id_list(id);
    }
    IM::Group::IMGroupCreateRsp rsp;
    EXPECT_TRUE(client_.CallMessage(kSidGroup, kCreate, req, &rsp));
    EXPECT_EQ(rsp.result_code(), 0u);
    return rsp.group_id();
  }

  IM::Group::IMGroupChangeMemberRsp Change(WireClient& client, uint32_t user,
                                           IM::BaseDefine::GroupModifyType type, uint32_t group,
                                           const Ids& ids, const std::string& attach = "") {
    IM::Group::IMGroupChangeMemberReq req;
    req.set_user_id(user);
    req.set_change_type(type);
    req.set_group_id(group);
    for (uint32_t id : ids) {
      req.add_member_id_list(id);
    }
    if (!attach.empty()) {
      req.set_attach_data(attach);
    }
    IM::Group::IMGroupChangeMemberRsp rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client.CallMessage(kSidGroup, kChange, req, &rsp, 10000, &frame));
    EXPECT_EQ(frame.service_id, kSidGroup);
    EXPECT_EQ(frame.command_id, kChangeRsp);
    EXPECT_EQ(rsp.user_id(), user);
    EXPECT_EQ(rsp.group_id(), group);
    EXPECT_EQ(rsp.change_type(), type);
    return rsp;
  }
  IM::Group::IMGroupChangeMemberRsp Change(uint32_t user, IM::BaseDefine::GroupModifyType type,
                                           uint32_t group, const Ids& ids) {
    return Change(client_, user, type, group, ids);
  }

  // 0x0403 for one group at version 0.
  IM::Group::IMGroupInfoListRsp Info(uint32_t user, uint32_t group) {
    IM::Group::IMGroupInfoListReq req;
    req.set_user_id(user);
    IM::BaseDefine::GroupVersionInfo* v = req.add_group_version_list();
    v->set_group_id(group);
    v->set_version(0);
    IM::Group::IMGroupInfoListRsp rsp;
    EXPECT_TRUE(client_.CallMessage(kSidGroup, kInfo, req, &rsp, 10000));
    return rsp;
  }

  static Ids ActiveMembers(uint32_t group) {
    Ids ids;
    for (const auto& row : db_->Query("SELECT userId FROM IMGroupMember WHERE groupId = " +
                                      std::to_string(group) + " AND status = 0 ORDER BY userId")) {
      ids.push_back(static_cast<uint32_t>(std::stoul(*row[0])));
    }
    return ids;
  }
  static Ids HashMembers(uint32_t group) {
    Ids ids;
    RedisReply keys = redis_->Command(MemberDb(), "HKEYS", "group_member_" + std::to_string(group));
    for (const RedisReply& k : keys.elements) {
      ids.push_back(static_cast<uint32_t>(std::stoul(k.str)));
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  static std::string GroupColumn(uint32_t group, const std::string& column) {
    return db_->QueryValue("SELECT " + column + " FROM IMGroup WHERE id = " + std::to_string(group))
        .value_or("<none>");
  }
  static std::string RowsOf(uint32_t group, uint32_t user) {
    return *db_->QueryValue("SELECT COUNT(*) FROM IMGroupMember WHERE groupId = " +
                            std::to_string(group) + " AND userId = " + std::to_string(user));
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  static DaemonProcess* daemon_;
  WireClient client_;
};

TestDatabase* GroupMemberTest::db_ = nullptr;
TestRedis* GroupMemberTest::redis_ = nullptr;
DaemonProcess* GroupMemberTest::daemon_ = nullptr;

TEST_F(GroupMemberTest, CreatorAddsMembersAndVersionUserCntAndRedisFollow) {
  uint32_t group = CreateGroup(11, GROUP_TYPE_NORMAL, {11, 12, 13});
  ASSERT_GT(group, 4u);
  uint32_t before = Now();

  auto rsp = Change(client_, 11, GROUP_MODIFY_TYPE_ADD, group, {14, 13, 15, 14, 0},
                    std::string("ctx\0x", 5));

  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(ToIds(rsp.chg_user_id_list()), (Ids{14, 15}));
  EXPECT_EQ(ToIds(rsp.cur_user_id_list()), (Ids{11, 12, 13, 14, 15}));
  EXPECT_EQ(rsp.attach_data(), std::string("ctx\0x", 5));
  EXPECT_EQ(GroupColumn(group, "version"), "2");
  EXPECT_EQ(GroupColumn(group, "userCnt"), "5");
  EXPECT_EQ(ActiveMembers(group), (Ids{11, 12, 13, 14, 15}));
  EXPECT_EQ(RowsOf(group, 14), "1");
  EXPECT_EQ(HashMembers(group), (Ids{11, 12, 13, 14, 15}));
  uint32_t joined = static_cast<uint32_t>(std::stoul(
      redis_->Command(MemberDb(), "HGET", "group_member_" + std::to_string(group), 14).str));
  EXPECT_GE(joined, before);
  EXPECT_LE(joined, Now());
  EXPECT_EQ(db_->QueryValue("SELECT updated FROM IMGroupMember WHERE groupId = " +
                            std::to_string(group) + " AND userId = 14"),
            std::to_string(joined));
}

TEST_F(GroupMemberTest, CreatorRemovesMembersClosesTheirGroupSessionsAndClearsCounters) {
  uint32_t group = CreateGroup(21, GROUP_TYPE_NORMAL, {21, 22, 23, 24});
  std::string g = std::to_string(group);
  db_->Exec(
      "INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES "
      "(22, " +
      g + ", 2, 0, 1, 1), (22, " + g + ", 1, 0, 1, 1), (23, " + g + ", 2, 0, 1, 1)");
  redis_->Command(UnreadDb(), "HSET", g + "_im_group_msg", "count", 7);
  redis_->Command(UnreadDb(), "HSET", "22_" + g + "_im_user_group", "count", 3);
  redis_->Command(UnreadDb(), "HSET", "23_" + g + "_im_user_group", "count", 2);
  uint32_t before = Now();

  auto rsp = Change(21, GROUP_MODIFY_TYPE_DEL, group, {22, 99, 22});

  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(ToIds(rsp.chg_user_id_list()), (Ids{22}));
  EXPECT_EQ(ToIds(rsp.cur_user_id_list()), (Ids{21, 23, 24}));
  EXPECT_EQ(GroupColumn(group, "version"), "2");
  EXPECT_EQ(GroupColumn(group, "userCnt"), "3");
  EXPECT_EQ(
      db_->QueryValue("SELECT status FROM IMGroupMember WHERE groupId = " + g + " AND userId = 22"),
      "1");
  EXPECT_EQ(HashMembers(group), (Ids{21, 23, 24}));
  // The removed member's group session is deleted; its single session with user <gid> and
  // the remaining member's group session are not.
  auto removed = db_->Query(
      "SELECT status, updated FROM IMRecentSession WHERE userId = 22 AND "
      "peerId = " +
      g + " AND type = 2");
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0][0], "1");
  EXPECT_GE(std::stoul(*removed[0][1]), before);
  EXPECT_EQ(db_->QueryValue("SELECT status FROM IMRecentSession WHERE userId = 22 AND peerId = " +
                            g + " AND type = 1"),
            "0");
  EXPECT_EQ(db_->QueryValue("SELECT status FROM IMRecentSession WHERE userId = 23 AND peerId = " +
                            g + " AND type = 2"),
            "0");
  EXPECT_EQ(redis_->Command(UnreadDb(), "HGET", "22_" + g + "_im_user_group", "count").str, "7");
  EXPECT_EQ(redis_->Command(UnreadDb(), "HGET", "23_" + g + "_im_user_group", "count").str, "2");

  // Adding users back and new: their markers become the group count too.
  redis_->Command(UnreadDb(), "HSET", g + "_im_group_msg", "count", 9);
  auto added = Change(21, GROUP_MODIFY_TYPE_ADD, group, {25});
  EXPECT_EQ(added.result_code(), 0u);
  EXPECT_EQ(redis_->Command(UnreadDb(), "HGET", "25_" + g + "_im_user_group", "count").str, "9");
}

TEST_F(GroupMemberTest, RemovingNobodyAnswersCurrentMembersAndChangesNothing) {
  uint32_t group = CreateGroup(31, GROUP_TYPE_NORMAL, {31, 32});

  auto rsp = Change(31, GROUP_MODIFY_TYPE_DEL, group, {77});

  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(ToIds(rsp.cur_user_id_list()), (Ids{31, 32}));
  EXPECT_TRUE(rsp.chg_user_id_list().empty());
  EXPECT_EQ(GroupColumn(group, "version"), "1");
}

TEST_F(GroupMemberTest, AddingOnlyExistingMembersIsAFailureAsInTeamTalk) {
  uint32_t group = CreateGroup(33, GROUP_TYPE_NORMAL, {33, 34});

  auto rsp = Change(33, GROUP_MODIFY_TYPE_ADD, group, {34, 33});

  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_TRUE(rsp.cur_user_id_list().empty());
  EXPECT_TRUE(rsp.chg_user_id_list().empty());
  EXPECT_EQ(GroupColumn(group, "version"), "1");
}

TEST_F(GroupMemberTest, NonCreatorIsRefusedInANormalGroup) {
  uint32_t group = CreateGroup(41, GROUP_TYPE_NORMAL, {41, 42});

  auto add = Change(42, GROUP_MODIFY_TYPE_ADD, group, {43});
  auto del = Change(42, GROUP_MODIFY_TYPE_DEL, group, {41});

  EXPECT_EQ(add.result_code(), 1u);
  EXPECT_TRUE(add.cur_user_id_list().empty());
  EXPECT_TRUE(add.chg_user_id_list().empty());
  EXPECT_EQ(del.result_code(), 1u);
  EXPECT_EQ(ActiveMembers(group), (Ids{41, 42}));
  EXPECT_EQ(GroupColumn(group, "version"), "1");
  EXPECT_EQ(HashMembers(group), (Ids{41, 42}));
}

TEST_F(GroupMemberTest, AdminZeroMayChangeAnyGroup) {
  uint32_t group = CreateGroup(45, GROUP_TYPE_NORMAL, {45, 46});

  auto add = Change(0, GROUP_MODIFY_TYPE_ADD, group, {47});
  auto del = Change(0, GROUP_MODIFY_TYPE_DEL, group, {45});

  EXPECT_EQ(add.result_code(), 0u);
  EXPECT_EQ(ToIds(add.cur_user_id_list()), (Ids{45, 46, 47}));
  EXPECT_EQ(del.result_code(), 0u);
  EXPECT_EQ(ToIds(del.cur_user_id_list()), (Ids{46, 47}));
  EXPECT_EQ(GroupColumn(group, "version"), "3");
  EXPECT_EQ(GroupColumn(group, "userCnt"), "2");
}

TEST_F(GroupMemberTest, InATemporaryGroupMembersMayAddButNotRemoveAndStrangersMayDoNeither) {
  uint32_t group = CreateGroup(51, GROUP_TYPE_TMP, {51, 52, 53});

  auto member_adds = Change(52, GROUP_MODIFY_TYPE_ADD, group, {54});
  auto stranger_adds = Change(60, GROUP_MODIFY_TYPE_ADD, group, {60});  // W17: refused
  auto member_removes = Change(52, GROUP_MODIFY_TYPE_DEL, group, {53});
  auto creator_removes = Change(51, GROUP_MODIFY_TYPE_DEL, group, {53});

  EXPECT_EQ(member_adds.result_code(), 0u);
  EXPECT_EQ(ToIds(member_adds.chg_user_id_list()), (Ids{54}));
  EXPECT_EQ(stranger_adds.result_code(), 1u);
  EXPECT_EQ(member_removes.result_code(), 1u);
  EXPECT_EQ(creator_removes.result_code(), 0u);
  EXPECT_EQ(ActiveMembers(group), (Ids{51, 52, 54}));
  EXPECT_EQ(GroupColumn(group, "version"), "3");
}

TEST_F(GroupMemberTest, DemoTemporaryGroupThreeAcceptsAnAddFromAMember) {
  auto rsp = Change(3, GROUP_MODIFY_TYPE_ADD, 3, {4});

  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(ToIds(rsp.cur_user_id_list()), (Ids{1, 2, 3, 4}));
  EXPECT_EQ(GroupColumn(3, "userCnt"), "4");
  EXPECT_EQ(HashMembers(3), (Ids{1, 2, 3, 4}));
}

TEST_F(GroupMemberTest, MemberWhoLeftAndComesBackKeepsOneRow) {
  uint32_t group = CreateGroup(61, GROUP_TYPE_NORMAL, {61, 62});

  EXPECT_EQ(Change(61, GROUP_MODIFY_TYPE_DEL, group, {62}).result_code(), 0u);
  EXPECT_EQ(Change(61, GROUP_MODIFY_TYPE_ADD, group, {62}).result_code(), 0u);
  EXPECT_EQ(Change(61, GROUP_MODIFY_TYPE_DEL, group, {62}).result_code(), 0u);
  auto back = Change(61, GROUP_MODIFY_TYPE_ADD, group, {62});

  EXPECT_EQ(back.result_code(), 0u);
  EXPECT_EQ(ToIds(back.chg_user_id_list()), (Ids{62}));
  EXPECT_EQ(RowsOf(group, 62), "1");
  EXPECT_EQ(ActiveMembers(group), (Ids{61, 62}));
  EXPECT_EQ(GroupColumn(group, "version"), "5");
  EXPECT_EQ(GroupColumn(group, "userCnt"), "2");
}

TEST_F(GroupMemberTest, UnknownChangeTypeAnswersResultOneInsteadOfSilence) {
  // user_id 7, change_type 3 (not a GroupModifyType), group_id 1, member 8, attach "ab".
  std::string body(
      "\x08\x07\x10\x03\x18\x01\x20\x08\xa2\x01\x02"
      "ab",
      13);

  auto frame = client_.Call(kSidGroup, kChange, body);

  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->command_id, kChangeRsp);
  IM::Group::IMGroupChangeMemberRsp rsp;
  ASSERT_TRUE(rsp.ParseFromString(frame->body));
  EXPECT_EQ(rsp.user_id(), 7u);
  EXPECT_EQ(rsp.group_id(), 1u);
  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_EQ(rsp.attach_data(), "ab");
  EXPECT_TRUE(rsp.cur_user_id_list().empty());
  EXPECT_EQ(GroupColumn(1, "version"), "1");
}

TEST_F(GroupMemberTest, UnknownGroupAnswersResultOne) {
  auto rsp = Change(0, GROUP_MODIFY_TYPE_ADD, 987654, {1});

  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_EQ(db_->QueryValue("SELECT COUNT(*) FROM IMGroupMember WHERE groupId = 987654"), "0");
}

TEST_F(GroupMemberTest, MoreIdsThanMaxMembersPerChangeAreRefused) {
  uint32_t group = CreateGroup(71, GROUP_TYPE_NORMAL, {71});
  Ids many;
  for (uint32_t id = 1; id <= 1001; ++id) {
    many.push_back(id);
  }

  auto rsp = Change(71, GROUP_MODIFY_TYPE_ADD, group, many);

  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_EQ(ActiveMembers(group), (Ids{71}));
}

TEST_F(GroupMemberTest, RemovingTheLastMemberKeepsTheGroupUsable) {
  uint32_t group = CreateGroup(81, GROUP_TYPE_NORMAL, {81});

  auto emptied = Change(81, GROUP_MODIFY_TYPE_DEL, group, {81});
  ASSERT_EQ(emptied.result_code(), 0u);
  EXPECT_TRUE(emptied.cur_user_id_list().empty());
  EXPECT_EQ(GroupColumn(group, "userCnt"), "0");
  EXPECT_EQ(redis_->Command(MemberDb(), "EXISTS", "group_member_" + std::to_string(group)).integer,
            0);

  // The admin still sees the group, with no members.
  auto info = Info(0, group);
  ASSERT_EQ(info.group_info_list_size(), 1);
  EXPECT_EQ(info.group_info_list(0).group_id(), group);
  EXPECT_EQ(info.group_info_list(0).version(), 2u);
  EXPECT_TRUE(info.group_info_list(0).group_member_list().empty());

  // And the creator can fill it again.
  auto refill = Change(81, GROUP_MODIFY_TYPE_ADD, group, {82, 81});
  EXPECT_EQ(refill.result_code(), 0u);
  EXPECT_EQ(ToIds(refill.cur_user_id_list()), (Ids{81, 82}));
  EXPECT_EQ(HashMembers(group), (Ids{81, 82}));
  EXPECT_EQ(GroupColumn(group, "userCnt"), "2");
  EXPECT_EQ(RowsOf(group, 81), "1");
}

TEST_F(GroupMemberTest, LostMemberHashIsRebuiltFromMysqlBeforeAnswering) {
  // A one-user lookup (is 499 a member of group 4?) after a flush.
  redis_->FlushDb(MemberDb());
  IM::Group::IMGroupShieldReq shield;
  shield.set_user_id(499);
  shield.set_group_id(4);
  shield.set_shield_status(1);
  IM::Group::IMGroupShieldRsp shield_rsp;
  ASSERT_TRUE(client_.CallMessage(kSidGroup, kShield, shield, &shield_rsp));
  EXPECT_EQ(shield_rsp.result_code(), 0u);
  EXPECT_EQ(redis_->Command(MemberDb(), "HLEN", "group_member_4").integer, 500);
  EXPECT_EQ(redis_->Command(MemberDb(), "HGET", "group_member_4", 499).str, "1700000000");
  shield.set_user_id(501);  // not a member: still refused after the rebuild
  ASSERT_TRUE(client_.CallMessage(kSidGroup, kShield, shield, &shield_rsp));
  EXPECT_EQ(shield_rsp.result_code(), 1u);

  // A whole-list lookup after another flush: the fan-out asks for group 4 at version 0.
  redis_->FlushDb(MemberDb());
  auto info = Info(250, 4);
  ASSERT_EQ(info.group_info_list_size(), 1);
  Ids members = ToIds(info.group_info_list(0).group_member_list());
  ASSERT_EQ(members.size(), 500u);
  for (uint32_t i = 0; i < 500; ++i) {
    ASSERT_EQ(members[i], i + 1);
  }
  EXPECT_EQ(redis_->Command(MemberDb(), "HLEN", "group_member_4").integer, 500);
  EXPECT_EQ(redis_->Command(MemberDb(), "HGET", "group_member_4", 1).str, "1700000000");
  EXPECT_EQ(redis_->Command(MemberDb(), "EXISTS", "group_member_1").integer, 0);  // untouched
  redis_->LoadCommandFile(MemberDb(), std::string(DBPROXY_SOURCE_DIR) + "/etc/demo_redis.txt");
}

TEST_F(GroupMemberTest, ChangeOfAGroupWhoseHashIsLostWritesTheWholeHash) {
  redis_->Command(MemberDb(), "DEL", "group_member_2");

  auto rsp = Change(1, GROUP_MODIFY_TYPE_ADD, 2, {101});

  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(rsp.cur_user_id_list_size(), 101);
  EXPECT_EQ(redis_->Command(MemberDb(), "HLEN", "group_member_2").integer, 101);
  EXPECT_EQ(redis_->Command(MemberDb(), "HGET", "group_member_2", 50).str, "1700000000");
  EXPECT_EQ(GroupColumn(2, "userCnt"), "101");
}

TEST_F(GroupMemberTest, GroupCreatedDirectlyInMysqlIsUsable) {
  uint32_t now = Now();
  db_->Exec(
      "INSERT INTO IMGroup (id, name, avatar, creator, type, userCnt, status, version, "
      "lastChated, updated, created) VALUES (5000, 'by-hand', '', 7, 1, 2, 0, 3, 0, " +
      std::to_string(now) + ", " + std::to_string(now) + ")");
  db_->Exec(
      "INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES "
      "(5000, 7, 0, 1600000000, 1600000000), (5000, 8, 0, 1600000001, 1600000001), "
      "(5000, 9, 1, 1600000002, 1600000002)");

  auto info = Info(8, 5000);
  ASSERT_EQ(info.group_info_list_size(), 1);
  EXPECT_EQ(ToIds(info.group_info_list(0).group_member_list()), (Ids{7, 8}));
  EXPECT_EQ(info.group_info_list(0).version(), 3u);
  EXPECT_EQ(redis_->Command(MemberDb(), "HGET", "group_member_5000", 8).str, "1600000001");

  auto rsp = Change(7, GROUP_MODIFY_TYPE_ADD, 5000, {9});
  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(ToIds(rsp.cur_user_id_list()), (Ids{7, 8, 9}));
  EXPECT_EQ(RowsOf(5000, 9), "1");
  EXPECT_EQ(GroupColumn(5000, "version"), "4");
  EXPECT_EQ(GroupColumn(5000, "userCnt"), "3");
}

TEST_F(GroupMemberTest, AGroupWithNoRowsAnywhereStaysUnknown) {
  auto info = Info(0, 6000);

  EXPECT_EQ(info.group_info_list_size(), 0);
  EXPECT_EQ(redis_->Command(MemberDb(), "EXISTS", "group_member_6000").integer, 0);
}

TEST_F(GroupMemberTest, ConcurrentChangesFromTwoDaemonsKeepCountsExactAndRowsUnique) {
  // A second dbproxyd on the same database: only the MySQL group lock serialises the two.
  DaemonProcess second;
  DaemonOptions options;
  options.plugins = {"group_member", "group_chat"};
  options.workers = 4;
  ASSERT_TRUE(second.Start(*db_, *redis_, options));
  uint32_t group = CreateGroup(91, GROUP_TYPE_NORMAL, {91, 92, 93});

  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  std::vector<int> bumps(kThreads, 0);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      WireClient client;
      if (!client.Connect(t % 2 == 0 ? daemon_->port() : second.port())) {
        errors[t] = "connect";
        return;
      }
      std::mt19937 random(static_cast<uint32_t>(1000 + t));
      for (int round = 0; round < kRounds; ++round) {
        IM::Group::IMGroupChangeMemberReq req;
        req.set_user_id(91);
        req.set_change_type(random() % 2 == 0 ? GROUP_MODIFY_TYPE_ADD : GROUP_MODIFY_TYPE_DEL);
        req.set_group_id(group);
        for (int k = 0; k < 3; ++k) {
          req.add_member_id_list(100 + random() % 12);
        }
        std::string body;
        req.SerializeToString(&body);
        auto frame = client.Call(kSidGroup, kChange, body, 20000);
        IM::Group::IMGroupChangeMemberRsp rsp;
        if (!frame || !rsp.ParseFromString(frame->body)) {
          errors[t] = "no answer";
          return;
        }
        if (rsp.result_code() == 0 && rsp.chg_user_id_list_size() > 0) {
          ++bumps[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
  }

  int changes = 0;
  for (int b : bumps) {
    changes += b;
  }
  Ids active = ActiveMembers(group);
  EXPECT_EQ(GroupColumn(group, "userCnt"), std::to_string(active.size()));
  EXPECT_EQ(GroupColumn(group, "version"), std::to_string(1 + changes));
  EXPECT_EQ(db_->QueryValue("SELECT COUNT(*) FROM (SELECT userId FROM IMGroupMember WHERE "
                            "groupId = " +
                            std::to_string(group) + " GROUP BY userId HAVING COUNT(*) > 1) d"),
            "0");
  EXPECT_EQ(HashMembers(group), active);
  EXPECT_GT(changes, 0);
}

TEST_F(GroupMemberTest, InternalMembershipCommandIsNotReachableOverTheWire) {
  long long unknown_before =
      Metric(HttpGet(daemon_->metrics_port(), "/metrics"), "dbproxy_unknown_commands_total");
  ASSERT_GE(unknown_before, 0);
  std::string query("\x00\x00\x00\x01\x00\x00\x00\x00", 8);  // group 1, everyone

  ASSERT_TRUE(client_.SendFrame(kSidGroup, kMembershipInternal, 77, query));
  auto info = Info(1, 1);  // the connection still works, and 0xF001 was never answered

  ASSERT_EQ(info.group_info_list_size(), 1);
  EXPECT_EQ(info.group_info_list(0).group_member_list_size(), 10);
  long long unknown_after =
      Metric(HttpGet(daemon_->metrics_port(), "/metrics"), "dbproxy_unknown_commands_total");
  EXPECT_EQ(unknown_after, unknown_before + 1);
  EXPECT_FALSE(client_.ReadFrame(200, /*skip_heartbeats=*/true).has_value());
}

TEST_F(GroupMemberTest, BadConfigValuesStopStartUpNamingTheKey) {
  for (const char* yaml : {"group_member:\n  lock_wait_seconds: 0\n",
                           "group_member:\n  max_members_per_change: 0\n"}) {
    DaemonProcess broken;
    DaemonOptions options;
    options.plugins = {"group_member", "group_chat"};
    options.extra_yaml_modules = yaml;
    ASSERT_TRUE(broken.Spawn(*db_, *redis_, options));
    std::optional<int> status = broken.WaitExit(20000);
    ASSERT_TRUE(status.has_value()) << yaml;
    EXPECT_NE(*status, 0) << yaml;
    std::string text = yaml;
    size_t at = text.find("\n  ") + 3;
    std::string key = text.substr(at, text.find(':', at) - at);
    EXPECT_NE(broken.ReadLog().find("config key '" + key + "' must be between"), std::string::npos)
        << yaml << broken.ReadLog();
  }
}

}  // namespace
}  // namespace dbproxy::testing
