// unread over the wire: dbproxyd with the unread module (and, for the message-driven
// tests, message and group_member), real MariaDB and Redis.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "plugins/common/events.h"
#include "tests/support/daemon_process.h"
#include "tests/support/http_get.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kSidMsg = 3;
constexpr uint16_t kMsgData = 0x0301;
constexpr uint16_t kReadAck = 0x0303;
constexpr uint16_t kUnreadReq = 0x0307;
constexpr uint16_t kUnreadRsp = 0x0308;
constexpr uint16_t kMsgListReq = 0x0309;

// "[语音]" under the default key (spec §6.6).
constexpr const char* kAudioPreview = "QhGXlpFjvMFUNrtl1aaPzA==";
const std::string kAttach("\x00\x00\x00\x01\x00\x00\x00\x2a\x00\x00\x00\x00", 12);

// Polls cond every 10 ms until it holds or timeout_ms passes; the final answer of cond.
bool WaitFor(const std::function<bool()>& cond, int timeout_ms = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

// One suite = one database, one Redis block, one dbproxyd with `plugins` enabled.
class UnreadSuite : public ::testing::Test {
 protected:
  static void StartDaemon(std::vector<std::string> plugins,
                          std::string plugin_dir = DBPROXY_PLUGIN_DIR, int workers = 8) {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    daemon_ = new DaemonProcess();
    DaemonProcess::Options options;
    options.plugins = std::move(plugins);
    options.plugin_dir = std::move(plugin_dir);
    options.workers = workers;
    ASSERT_TRUE(daemon_->Start(*db_, *redis_, options));
  }
  static void TearDownTestSuite() {
    delete daemon_;
    delete redis_;
    delete db_;
    daemon_ = nullptr;
    redis_ = nullptr;
    db_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(daemon_, nullptr);
    ASSERT_TRUE(daemon_->running());
    ASSERT_TRUE(client_.Connect(daemon_->port()));
  }

  int unread_db() const { return redis_->db("unread"); }

  IM::Message::IMUnreadMsgCntRsp Unread(uint32_t user_id) {
    IM::Message::IMUnreadMsgCntReq req;
    req.set_user_id(user_id);
    req.set_attach_data(kAttach);
    std::string body;
    req.SerializeToString(&body);
    return UnreadRaw(body);
  }
  IM::Message::IMUnreadMsgCntRsp UnreadRaw(const std::string& body) {
    IM::Message::IMUnreadMsgCntRsp rsp;
    std::optional<WireClient::Frame> frame = client_.Call(kSidMsg, kUnreadReq, body);
    EXPECT_TRUE(frame.has_value()) << "no answer to 0x0307";
    if (frame) {
      EXPECT_EQ(frame->service_id, kSidMsg);
      EXPECT_EQ(frame->command_id, kUnreadRsp);
      EXPECT_TRUE(rsp.ParseFromString(frame->body)) << "0x0308 lacks a required field";
    }
    return rsp;
  }
  void ReadAck(uint32_t user_id, uint32_t session_id, IM::BaseDefine::SessionType type) {
    IM::Message::IMMsgDataReadAck ack;
    ack.set_user_id(user_id);
    ack.set_session_id(session_id);
    ack.set_msg_id(0);
    ack.set_session_type(type);
    std::string body;
    ack.SerializeToString(&body);
    ASSERT_TRUE(client_.SendFrame(kSidMsg, kReadAck, 77, body));
  }
  std::string HGet(const std::string& key, const std::string& field) {
    RedisReply r = redis_->Command(unread_db(), "HGET", key, field);
    return r.is_nil() ? "(nil)" : r.str;
  }

  // Seeding straight into the documented tables (spec §4): relation, message rows.
  uint32_t AddRelation(uint32_t a, uint32_t b) {
    uint32_t small = std::min(a, b);
    uint32_t big = std::max(a, b);
    db_->Exec("INSERT INTO IMRelationShip (smallId, bigId, status, created, updated) VALUES (" +
              std::to_string(small) + ", " + std::to_string(big) + ", 0, 1, 1)");
    return static_cast<uint32_t>(std::stoul(*db_->QueryValue(
        "SELECT MAX(id) FROM IMRelationShip WHERE smallId = " + std::to_string(small) +
        " AND bigId = " + std::to_string(big))));
  }
  void AddMessage(uint32_t rid, uint32_t from, uint32_t to, uint32_t msg_id,
                  const std::string& content, int type, uint32_t created) {
    db_->Exec("INSERT INTO IMMessage_" + std::to_string(rid % 8) +
              " (relateId, fromId, toId, msgId, content, type, status, created, updated) "
              "VALUES (" +
              std::to_string(rid) + ", " + std::to_string(from) + ", " + std::to_string(to) + ", " +
              std::to_string(msg_id) + ", '" + content + "', " + std::to_string(type) + ", 0, " +
              std::to_string(created) + ", " + std::to_string(created) + ")");
  }
  void AddGroupMessage(uint32_t gid, uint32_t from, uint32_t msg_id, const std::string& content,
                       int type, uint32_t created) {
    db_->Exec("INSERT INTO IMGroupMessage_" + std::to_string(gid % 8) +
              " (groupId, userId, msgId, content, type, status, created, updated) VALUES (" +
              std::to_string(gid) + ", " + std::to_string(from) + ", " + std::to_string(msg_id) +
              ", '" + content + "', " + std::to_string(type) + ", 0, " + std::to_string(created) +
              ", " + std::to_string(created) + ")");
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  static DaemonProcess* daemon_;
  WireClient client_;
};

TestDatabase* UnreadSuite::db_ = nullptr;
TestRedis* UnreadSuite::redis_ = nullptr;
DaemonProcess* UnreadSuite::daemon_ = nullptr;

void ExpectInfo(const IM::BaseDefine::UnreadInfo& info, uint32_t session_id, int type,
                uint32_t count, uint32_t msg_id, const std::string& data, int msg_type,
                uint32_t from) {
  EXPECT_EQ(info.session_id(), session_id);
  EXPECT_EQ(info.session_type(), type) << "session " << session_id;
  EXPECT_EQ(info.unread_cnt(), count) << "session " << session_id;
  EXPECT_EQ(info.latest_msg_id(), msg_id) << "session " << session_id;
  EXPECT_EQ(info.latest_msg_data(), data) << "session " << session_id;
  EXPECT_EQ(info.latest_msg_type(), msg_type) << "session " << session_id;
  EXPECT_EQ(info.latest_msg_from_user_id(), from) << "session " << session_id;
}

// ---- Seeded data: the unread module alone --------------------------------------------

class UnreadSeededTest : public UnreadSuite {
 protected:
  static void SetUpTestSuite() { StartDaemon({"unread"}); }
};

TEST_F(UnreadSeededTest, ListsSinglesWithTheirLatestMessageAndThePeerAsSender) {
  // Users above 500 are in no demo group, so only their single counters matter.
  uint32_t r1 = AddRelation(510, 511);
  AddMessage(r1, 511, 510, 1, "first", 1, 1000);
  AddMessage(r1, 510, 511, 2, "second, sent by 510", 1, 1001);
  uint32_t r2 = AddRelation(510, 509);
  AddMessage(r2, 509, 510, 7, "from 509", 1, 900);
  redis_->Command(unread_db(), "HSET", "unread_510", 511, 1, 509, 4);

  IM::Message::IMUnreadMsgCntRsp rsp = Unread(510);

  EXPECT_EQ(rsp.user_id(), 510u);
  EXPECT_EQ(rsp.attach_data(), kAttach);
  EXPECT_EQ(rsp.total_cnt(), 5u);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 2);
  // Ascending peer id; latest_msg_from_user_id is the peer (TeamTalk's quirk), even where
  // the latest message was the user's own.
  ExpectInfo(rsp.unreadinfo_list(0), 509, 1, 4, 7, "from 509", 1, 509);
  ExpectInfo(rsp.unreadinfo_list(1), 511, 1, 1, 2, "second, sent by 510", 1, 511);
}

TEST_F(UnreadSeededTest, AudioShowsTheEncryptedPreview) {
  uint32_t rid = AddRelation(520, 521);
  AddMessage(rid, 521, 520, 3, "42", 2, 1000);
  redis_->Command(unread_db(), "HSET", "unread_520", 521, 1);

  IM::Message::IMUnreadMsgCntRsp rsp = Unread(520);

  ASSERT_EQ(rsp.unreadinfo_list_size(), 1);
  ExpectInfo(rsp.unreadinfo_list(0), 521, 1, 1, 3, kAudioPreview, 2, 521);
}

TEST_F(UnreadSeededTest, CountersWithoutAnyMessageAreLeftOut) {
  AddRelation(530, 532);  // a relation, but no message
  uint32_t rid = AddRelation(530, 533);
  AddMessage(rid, 533, 530, 1, "real", 1, 1000);
  // 531: no relation; 534: a count of 0 and a non-numeric field are not conversations.
  redis_->Command(unread_db(), "HSET", "unread_530", 531, 5, 532, 6, 533, 2, 534, 0, "x", 3);

  IM::Message::IMUnreadMsgCntRsp rsp = Unread(530);

  EXPECT_EQ(rsp.total_cnt(), 2u);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 1);
  ExpectInfo(rsp.unreadinfo_list(0), 533, 1, 2, 1, "real", 1, 533);
}

TEST_F(UnreadSeededTest, AHundredConversationsOnBothSidesOfTheUserAreAllListed) {
  // User 650 with peers 600..700 except itself: 50 below (user is bigId), 50 above.
  uint64_t expected_total = 0;
  std::vector<uint32_t> peers;
  for (uint32_t p = 600; p <= 700; ++p) {
    if (p == 650) {
      continue;
    }
    uint32_t rid = AddRelation(650, p);
    AddMessage(rid, p, 650, 1, "old " + std::to_string(p), 1, 1000);
    AddMessage(rid, p, 650, 2, "m" + std::to_string(p), 1, 1001);
    redis_->Command(unread_db(), "HSET", "unread_650", p, p - 590);
    expected_total += p - 590;
    peers.push_back(p);
  }

  IM::Message::IMUnreadMsgCntRsp rsp = Unread(650);

  EXPECT_EQ(rsp.total_cnt(), expected_total);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 100);
  for (size_t i = 0; i < peers.size(); ++i) {
    ExpectInfo(rsp.unreadinfo_list(static_cast<int>(i)), peers[i], 1, peers[i] - 590, 2,
               "m" + std::to_string(peers[i]), 1, peers[i]);
  }
}

TEST_F(UnreadSeededTest, DuplicateRelationRowsUseTheLowestIdLikeTheMessageModule) {
  uint32_t first = AddRelation(540, 541);
  uint32_t second = AddRelation(540, 541);
  ASSERT_LT(first, second);
  AddMessage(first, 541, 540, 5, "in the first relation", 1, 1000);
  AddMessage(second, 541, 540, 9, "in the second relation", 1, 2000);
  redis_->Command(unread_db(), "HSET", "unread_540", 541, 1);

  IM::Message::IMUnreadMsgCntRsp rsp = Unread(540);

  ASSERT_EQ(rsp.unreadinfo_list_size(), 1);
  EXPECT_EQ(rsp.unreadinfo_list(0).latest_msg_data(), "in the first relation");
}

TEST_F(UnreadSeededTest, LatestIsTheHighestLiveMsgIdWithTiesToTheNewestThenHighestRow) {
  auto insert = [&](uint32_t rid, uint32_t from, uint32_t msg_id, const std::string& content,
                    int status, uint32_t created) {
    db_->Exec("INSERT INTO IMMessage_" + std::to_string(rid % 8) +
              " (relateId, fromId, toId, msgId, content, type, status, created, updated) "
              "VALUES (" +
              std::to_string(rid) + ", " + std::to_string(from) + ", 580, " +
              std::to_string(msg_id) + ", " + content + ", 1, " + std::to_string(status) + ", " +
              std::to_string(created) + ", " + std::to_string(created) + ")");
  };
  // 581: msgId wins over created (TeamTalk's created DESC would pick msgId 4).
  uint32_t r581 = AddRelation(580, 581);
  insert(r581, 581, 5, "'msg 5, older clock'", 0, 2000);
  insert(r581, 581, 4, "'msg 4, newer clock'", 0, 3000);
  // 582: a deleted newer row is skipped.
  uint32_t r582 = AddRelation(580, 582);
  insert(r582, 582, 1, "'kept'", 0, 1000);
  insert(r582, 582, 2, "'deleted'", 1, 1001);
  // 583: legacy duplicates of msgId 7: the newest created; 584: same created, the last row.
  uint32_t r583 = AddRelation(580, 583);
  insert(r583, 583, 7, "'dup newer'", 0, 1001);
  insert(r583, 583, 7, "'dup older'", 0, 1000);
  uint32_t r584 = AddRelation(580, 584);
  insert(r584, 584, 3, "'first row'", 0, 1000);
  insert(r584, 584, 3, "'second row'", 0, 1000);
  // 585: NULL content reads as empty; 586: only a deleted row, so no message at all.
  uint32_t r585 = AddRelation(580, 585);
  insert(r585, 585, 1, "NULL", 0, 1000);
  uint32_t r586 = AddRelation(580, 586);
  insert(r586, 586, 1, "'deleted'", 1, 1000);
  redis_->Command(unread_db(), "HSET", "unread_580", 581, 1, 582, 1, 583, 1, 584, 1, 585, 1, 586,
                  1);

  IM::Message::IMUnreadMsgCntRsp rsp = Unread(580);

  ASSERT_EQ(rsp.unreadinfo_list_size(), 5);
  ExpectInfo(rsp.unreadinfo_list(0), 581, 1, 1, 5, "msg 5, older clock", 1, 581);
  ExpectInfo(rsp.unreadinfo_list(1), 582, 1, 1, 1, "kept", 1, 582);
  ExpectInfo(rsp.unreadinfo_list(2), 583, 1, 1, 7, "dup newer", 1, 583);
  ExpectInfo(rsp.unreadinfo_list(3), 584, 1, 1, 3, "second row", 1, 584);
  ExpectInfo(rsp.unreadinfo_list(4), 585, 1, 1, 1, "", 1, 585);
  EXPECT_EQ(rsp.total_cnt(), 5u);
}

TEST_F(UnreadSeededTest, ThreeHundredPeersBelowTheUserTakeTwoStatementsAndAreAllListed) {
  // User 1000 with peers 600..899: 300 relations where the user is bigId, more than the
  // 256 one statement matches, spread over all eight shards.
  std::string relations;
  for (uint32_t p = 600; p < 900; ++p) {
    relations +=
        (relations.empty() ? "" : ", ") + std::string("(") + std::to_string(p) + ", 1000, 0, 1, 1)";
  }
  db_->Exec("INSERT INTO IMRelationShip (smallId, bigId, status, created, updated) VALUES " +
            relations);
  std::vector<std::string> messages(8);
  for (const auto& row :
       db_->Query("SELECT id, smallId FROM IMRelationShip WHERE bigId = 1000 AND status = 0")) {
    uint32_t rid = static_cast<uint32_t>(std::stoul(*row[0]));
    std::string& shard = messages[rid % 8];
    shard += (shard.empty() ? "" : ", ") + std::string("(") + *row[0] + ", " + *row[1] +
             ", 1000, 1, 'p" + *row[1] + "', 1, 0, 5, 5)";
  }
  for (int k = 0; k < 8; ++k) {
    ASSERT_FALSE(messages[k].empty()) << "shard " << k;
    db_->Exec("INSERT INTO IMMessage_" + std::to_string(k) +
              " (relateId, fromId, toId, msgId, content, type, status, created, updated) "
              "VALUES " +
              messages[k]);
  }
  for (uint32_t p = 600; p < 900; p += 50) {
    std::vector<std::string> args = {"HSET", "unread_1000"};
    for (uint32_t q = p; q < p + 50; ++q) {
      args.push_back(std::to_string(q));
      args.push_back("1");
    }
    redis_->CommandArgv(unread_db(), args);
  }

  IM::Message::IMUnreadMsgCntRsp rsp = Unread(1000);

  EXPECT_EQ(rsp.total_cnt(), 300u);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 300);
  for (int i = 0; i < 300; ++i) {
    uint32_t p = 600 + static_cast<uint32_t>(i);
    ExpectInfo(rsp.unreadinfo_list(i), p, 1, 1, 1, "p" + std::to_string(p), 1, p);
  }
}

TEST_F(UnreadSeededTest, GroupUnreadIsGroupCountMinusTheUsersMarkerNeverStaleNorNegative) {
  // User 5 is in groups 1, 2, 3 and 4 (demo data); order them 1, 2, 4, 3 by updated.
  db_->Exec(
      "UPDATE IMGroupMember SET updated = 400 WHERE userId = 5 AND groupId = 1; "
      "UPDATE IMGroupMember SET updated = 300 WHERE userId = 5 AND groupId = 2; "
      "UPDATE IMGroupMember SET updated = 200 WHERE userId = 5 AND groupId = 4; "
      "UPDATE IMGroupMember SET updated = 100 WHERE userId = 5 AND groupId = 3");
  AddGroupMessage(1, 3, 10, "g1 older", 17, 1000);
  AddGroupMessage(1, 4, 11, "g1 latest", 17, 1001);
  AddGroupMessage(2, 6, 3, "g2 latest", 17, 1000);
  AddGroupMessage(4, 7, 9, "voice", 18, 5000);
  AddGroupMessage(3, 1, 1, "g3", 17, 1000);
  int u = unread_db();
  redis_->Command(u, "HSET", "1_im_group_msg", "count", 10);
  redis_->Command(u, "HSET", "5_1_im_user_group", "count", 4);
  // Group 2: the marker is above the count (e.g. after a counter loss): 0, not the 6 of
  // the previous group (W13), and not negative.
  redis_->Command(u, "HSET", "2_im_group_msg", "count", 3);
  redis_->Command(u, "HSET", "5_2_im_user_group", "count", 7);
  redis_->Command(u, "HSET", "4_im_group_msg", "count", 9);  // no marker: all unread
  // Group 3 has no counter at all: nothing unread.

  IM::Message::IMUnreadMsgCntRsp rsp = Unread(5);

  EXPECT_EQ(rsp.total_cnt(), 15u);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 2);
  ExpectInfo(rsp.unreadinfo_list(0), 1, 2, 6, 11, "g1 latest", 17, 4);
  ExpectInfo(rsp.unreadinfo_list(1), 4, 2, 9, 9, kAudioPreview, 18, 7);
}

TEST_F(UnreadSeededTest, SinglesComeBeforeGroups) {
  // User 200 is in group 4 only.
  uint32_t rid = AddRelation(200, 900);
  AddMessage(rid, 900, 200, 1, "single", 1, 1000);
  AddGroupMessage(4, 2, 1, "group", 17, 1000);
  redis_->Command(unread_db(), "HSET", "unread_200", 900, 2);
  redis_->Command(unread_db(), "HSET", "4_im_group_msg", "count", 10);
  redis_->Command(unread_db(), "HSET", "200_4_im_user_group", "count", 9);

  IM::Message::IMUnreadMsgCntRsp rsp = Unread(200);

  EXPECT_EQ(rsp.total_cnt(), 3u);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 2);
  EXPECT_EQ(rsp.unreadinfo_list(0).session_type(), 1);
  EXPECT_EQ(rsp.unreadinfo_list(0).session_id(), 900u);
  EXPECT_EQ(rsp.unreadinfo_list(1).session_type(), 2);
  EXPECT_EQ(rsp.unreadinfo_list(1).session_id(), 4u);
  EXPECT_EQ(rsp.unreadinfo_list(1).unread_cnt(), 1u);
}

TEST_F(UnreadSeededTest, NothingUnreadAnswersAnEmptyListWithAttachData) {
  IM::Message::IMUnreadMsgCntReq req;
  req.set_user_id(999);
  std::string body;
  req.SerializeToString(&body);

  IM::Message::IMUnreadMsgCntRsp rsp = UnreadRaw(body);

  EXPECT_EQ(rsp.user_id(), 999u);
  EXPECT_EQ(rsp.total_cnt(), 0u);
  EXPECT_EQ(rsp.unreadinfo_list_size(), 0);
  EXPECT_TRUE(rsp.has_attach_data());
}

TEST_F(UnreadSeededTest, ReadAckDeletesOnlyThatPeersCounter) {
  redis_->Command(unread_db(), "HSET", "unread_140", 141, 3, 142, 4);

  ReadAck(140, 141, IM::BaseDefine::SESSION_TYPE_SINGLE);

  EXPECT_TRUE(WaitFor([&] { return HGet("unread_140", "141") == "(nil)"; }));
  EXPECT_EQ(HGet("unread_140", "142"), "4");
}

TEST_F(UnreadSeededTest, GroupReadAckCopiesTheGroupCountIntoTheMarker) {
  redis_->Command(unread_db(), "HSET", "1_im_group_msg", "count", 17);
  redis_->Command(unread_db(), "HSET", "6_1_im_user_group", "count", 2);

  ReadAck(6, 1, IM::BaseDefine::SESSION_TYPE_GROUP);

  EXPECT_TRUE(WaitFor([&] { return HGet("6_1_im_user_group", "count") == "17"; }))
      << HGet("6_1_im_user_group", "count");
}

TEST_F(UnreadSeededTest, GroupReadAckWithoutAGroupCounterSetsTheMarkerTo0) {
  ReadAck(7, 3, IM::BaseDefine::SESSION_TYPE_GROUP);

  EXPECT_TRUE(WaitFor([&] { return HGet("7_3_im_user_group", "count") == "0"; }));
  EXPECT_EQ(redis_->Command(unread_db(), "EXISTS", "3_im_group_msg").integer, 0);
}

TEST_F(UnreadSeededTest, UnparsableReadAckChangesNothingAndTheConnectionStaysUsable) {
  redis_->Command(unread_db(), "HSET", "unread_150", 151, 3);
  ASSERT_TRUE(client_.SendFrame(kSidMsg, kReadAck, 5, std::string("\x08\x96\x01", 3)));

  IM::Message::IMUnreadMsgCntRsp rsp = Unread(150);  // answered after the bad ack

  EXPECT_EQ(HGet("unread_150", "151"), "3");
  EXPECT_EQ(rsp.user_id(), 150u);
}

TEST_F(UnreadSeededTest, UnparsableRequestAnswersAnEmptyListWithWhatWasReadable) {
  IM::Message::IMUnreadMsgCntReq req;  // user_id missing: required field
  req.set_attach_data(kAttach);
  IM::Message::IMUnreadMsgCntRsp rsp = UnreadRaw(req.SerializePartialAsString());

  EXPECT_EQ(rsp.user_id(), 0u);
  EXPECT_EQ(rsp.total_cnt(), 0u);
  EXPECT_EQ(rsp.unreadinfo_list_size(), 0);
  EXPECT_EQ(rsp.attach_data(), kAttach);

  IM::Message::IMUnreadMsgCntRsp garbage = UnreadRaw(std::string("\xff\xff\xff", 3));
  EXPECT_EQ(garbage.total_cnt(), 0u);
  EXPECT_TRUE(garbage.has_attach_data());
}

TEST_F(UnreadSeededTest, StorageFailureAnswersAnEmptyList) {
  uint32_t rid = AddRelation(560, 561);
  AddMessage(rid, 561, 560, 1, "x", 1, 1000);
  redis_->Command(unread_db(), "HSET", "unread_560", 561, 1);
  db_->Exec("RENAME TABLE IMGroupMember TO IMGroupMember_away");

  IM::Message::IMUnreadMsgCntRsp rsp = Unread(560);
  db_->Exec("RENAME TABLE IMGroupMember_away TO IMGroupMember");

  EXPECT_EQ(rsp.user_id(), 560u);
  EXPECT_EQ(rsp.total_cnt(), 0u);
  EXPECT_EQ(rsp.unreadinfo_list_size(), 0);
  EXPECT_EQ(rsp.attach_data(), kAttach);
  EXPECT_EQ(Unread(560).total_cnt(), 1u) << "recovers once the table is back";
}

TEST(UnreadOutage, RedisDownAnswersAnEmptyListAndRecovers) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  std::unique_ptr<TcpProxy> proxy =
      TcpProxy::Start(redis->env().redis_host, redis->env().redis_port);
  DaemonProcess daemon;
  DaemonProcess::Options options;
  options.plugins = {"unread"};
  options.redis_ports["unread"] = proxy->port();
  ASSERT_TRUE(daemon.Start(*db, *redis, options));
  db->Exec(
      "INSERT INTO IMRelationShip (id, smallId, bigId, status, created, updated) "
      "VALUES (5000, 570, 571, 0, 1, 1)");
  db->Exec(
      "INSERT INTO IMMessage_0 (relateId, fromId, toId, msgId, content, type, status, "
      "created, updated) VALUES (5000, 571, 570, 1, 'hi', 1, 0, 1, 1)");
  redis->Command(redis->db("unread"), "HSET", "unread_570", 571, 2);
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon.port()));
  auto unread = [&] {
    IM::Message::IMUnreadMsgCntReq req;
    req.set_user_id(570);
    req.set_attach_data(kAttach);
    IM::Message::IMUnreadMsgCntRsp rsp;
    EXPECT_TRUE(client.CallMessage(kSidMsg, kUnreadReq, req, &rsp, 10000));
    return rsp;
  };
  ASSERT_EQ(unread().total_cnt(), 2u);

  proxy->Cut();
  IM::Message::IMUnreadMsgCntRsp down = unread();
  EXPECT_EQ(down.user_id(), 570u);
  EXPECT_EQ(down.total_cnt(), 0u);
  EXPECT_EQ(down.unreadinfo_list_size(), 0);
  EXPECT_EQ(down.attach_data(), kAttach);
  ASSERT_TRUE(proxy->Restore());

  EXPECT_TRUE(WaitFor([&] { return unread().total_cnt() == 2u; }, 10000));
}

TEST(UnreadConfig, RejectsAnAesKeyThatIsNot32Bytes) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  DaemonProcess daemon;
  DaemonProcess::Options options;
  options.plugins = {"unread"};
  options.extra_yaml_modules = "unread:\n  aes_key: \"1234567890123456789012345678901\"\n";
  ASSERT_TRUE(daemon.Spawn(*db, *redis, options));

  std::optional<int> status = daemon.WaitExit(20000);
  ASSERT_TRUE(status.has_value()) << "dbproxyd started with a 31-byte key";
  EXPECT_NE(*status, 0);
  EXPECT_NE(daemon.ReadLog().find("unread.aes_key must be exactly 32 bytes, got 31"),
            std::string::npos)
      << daemon.ReadLog();
}

// ---- Batches: one message.stored event carrying the records of one commit ---------------
// Published by the session module's test-only probe (0x7f01: body = the event payload),
// which delivers payloads the message module does not produce on cue.

using Stored = plugins::events::MessageStored;

Stored Record(uint32_t type, uint32_t from, uint32_t to, uint32_t msg_id = 1) {
  Stored e;
  e.session_type = type;
  e.from_user_id = from;
  e.to_id = to;
  e.msg_id = msg_id;
  e.msg_type = type == 1 ? 1 : 0x11;
  e.create_time = 1000;
  e.stored_at = 1000;
  return e;
}

// A plugin directory with unread.so and the probe, as symlinks; removed by the caller.
std::string PluginDirWithProbe() {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("unread_probe_plugins_" + std::to_string(::getpid())))
                        .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::create_symlink(std::string(DBPROXY_PLUGIN_DIR) + "/unread.so",
                                  dir + "/unread.so");
  std::filesystem::create_symlink(std::string(DBPROXY_TEST_PLUGIN_DIR) + "/session_test_probe.so",
                                  dir + "/session_test_probe.so");
  return dir;
}

std::string PublishOn(WireClient& client, const std::string& payload) {
  std::optional<WireClient::Frame> f = client.Call(7, 0x7f01, payload, 10000);
  return f ? f->body : "no answer";
}

// What counting records one by one leaves in Redis: key -> field -> value.
using Counters = std::map<std::string, std::map<std::string, std::string>>;

Counters Simulate(const std::vector<Stored>& records) {
  Counters out;
  for (const Stored& e : records) {
    if (e.session_type == 1) {
      std::string& v = out["unread_" + std::to_string(e.to_id)][std::to_string(e.from_user_id)];
      v = std::to_string((v.empty() ? 0 : std::stoi(v)) + 1);
    } else {
      std::string gid = std::to_string(e.to_id);
      std::string& total = out[gid + "_im_group_msg"]["count"];
      total = std::to_string((total.empty() ? 0 : std::stoi(total)) + 1);
      out[std::to_string(e.from_user_id) + "_" + gid + "_im_user_group"]["count"] = total;
    }
  }
  return out;
}

// 125 records over users base+1..base+40 and groups gbase+1, gbase+2: 80 singles to seven
// receivers from eleven senders (so most (to, from) repeat), and 45 group records
// interleaved, where the senders alternate so each sender's marker depends on the order.
std::vector<Stored> MakeBatch(uint32_t base, uint32_t gbase) {
  std::vector<Stored> out;
  for (uint32_t i = 0; i < 80; ++i) {
    out.push_back(Record(1, base + 20 + i % 11, base + 1 + i % 7, i + 1));
    if (i % 8 == 3 || i % 8 == 6) {
      uint32_t g = static_cast<uint32_t>(out.size());
      out.push_back(Record(2, base + 1 + g % 4, gbase + 1, 1000 + g));
      out.push_back(Record(2, base + 5 + g % 3, gbase + 2 - g % 2, 1000 + g));
    }
    if (i % 16 == 15) {
      out.push_back(Record(2, base + 8, gbase + 1, 2000 + i));
    }
  }
  return out;
}

// ---- Lists answered in batches: a one-worker daemon, so requests sent back to back queue
// up and are answered together.

class UnreadBatchTest : public UnreadSuite {
 protected:
  static void SetUpTestSuite() { StartDaemon({"unread"}, DBPROXY_PLUGIN_DIR, /*workers=*/1); }
};

TEST_F(UnreadBatchTest, ListsAnsweredTogetherEqualTheSameListsAnsweredAlone) {
  // Users 300..319 are members of group 4 (demo data) with different read markers; each
  // has unread single chats from a different number of peers; user 950 is in no group and
  // has nothing unread. Every list is asked twice in the batch, and one body is garbage.
  const int u = unread_db();
  AddGroupMessage(4, 2, 40, "group latest", 17, 1000);
  redis_->Command(u, "HSET", "4_im_group_msg", "count", 40);
  std::vector<uint32_t> users;
  for (uint32_t user = 300; user < 320; ++user) {
    users.push_back(user);
    redis_->Command(u, "HSET", std::to_string(user) + "_4_im_user_group", "count", 20 + user % 25);
    for (uint32_t k = 0; k < user % 4; ++k) {
      const uint32_t peer = 900 + k;
      const uint32_t rid = AddRelation(user, peer);
      AddMessage(rid, peer, user, 1, "from " + std::to_string(peer) + " to " + std::to_string(user),
                 1, 1000);
      redis_->Command(u, "HSET", "unread_" + std::to_string(user), peer, 1 + k);
    }
  }
  users.push_back(950);

  auto body_of = [](uint32_t user) {
    IM::Message::IMUnreadMsgCntReq req;
    req.set_user_id(user);
    req.set_attach_data("attach " + std::to_string(user));
    return req.SerializeAsString();
  };
  // Alone: one request at a time.
  std::map<uint32_t, std::string> alone;
  for (uint32_t user : users) {
    std::optional<WireClient::Frame> f = client_.Call(kSidMsg, kUnreadReq, body_of(user));
    ASSERT_TRUE(f);
    alone[user] = f->body;
    IM::Message::IMUnreadMsgCntRsp rsp;
    ASSERT_TRUE(rsp.ParseFromString(f->body));
    EXPECT_EQ(rsp.unreadinfo_list_size(), user == 950 ? 0 : 1 + static_cast<int>(user % 4));
  }

  // Together: every list twice and a garbage body, in one write.
  const int64_t batches_before = PluginCounter(daemon_->metrics_port(), "unread", "unread_batches");
  std::vector<std::string> bodies;
  for (int round = 0; round < 2; ++round) {
    for (uint32_t user : users) {
      bodies.push_back(body_of(user));
    }
  }
  bodies.push_back("\xff\xff garbage");
  std::string frames;
  for (size_t i = 0; i < bodies.size(); ++i) {
    frames += WireClient::EncodeFrame(
        WireClient::MakeFrame(kSidMsg, kUnreadReq, static_cast<uint16_t>(i + 1), bodies[i]));
  }
  ASSERT_TRUE(client_.SendRaw(frames));
  std::vector<int> answers(bodies.size(), 0);
  for (size_t n = 0; n < bodies.size(); ++n) {
    std::optional<WireClient::Frame> f = client_.ReadFrame(10000, /*skip_heartbeats=*/true);
    ASSERT_TRUE(f) << "answer " << n;
    ASSERT_GE(f->seq, 1);
    ASSERT_LE(f->seq, bodies.size());
    ++answers[f->seq - 1];
    if (f->seq == bodies.size()) {
      IM::Message::IMUnreadMsgCntRsp rsp;
      EXPECT_TRUE(rsp.ParseFromString(f->body));
      EXPECT_EQ(rsp.unreadinfo_list_size(), 0);
      continue;
    }
    const uint32_t user = users[(f->seq - 1) % users.size()];
    EXPECT_EQ(f->body, alone[user]) << "user " << user;
  }
  EXPECT_EQ(answers, std::vector<int>(bodies.size(), 1));
  const int64_t batches =
      PluginCounter(daemon_->metrics_port(), "unread", "unread_batches") - batches_before;
  EXPECT_GT(batches, 0);
  EXPECT_LT(batches, static_cast<int64_t>(bodies.size()) / 2) << "lists were not batched";
}

class UnreadEventTest : public UnreadSuite {
 protected:
  static void SetUpTestSuite() {
    plugin_dir_ = PluginDirWithProbe();
    StartDaemon({"unread", "session_test_probe"}, plugin_dir_);
  }
  static void TearDownTestSuite() {
    UnreadSuite::TearDownTestSuite();
    std::filesystem::remove_all(plugin_dir_);
  }

  std::string Publish(const std::string& payload) { return PublishOn(client_, payload); }
  int64_t Counter(const char* name) {
    return PluginCounter(daemon_->metrics_port(), "unread", name);
  }
  // The Redis contents of every key named in `like` (same keys, same fields).
  Counters Read(const Counters& like) {
    Counters out;
    for (const auto& [key, fields] : like) {
      RedisReply all = redis_->Command(unread_db(), "HGETALL", key);
      for (size_t i = 0; i + 1 < all.elements.size(); i += 2) {
        out[key][all.elements[i].str] = all.elements[i + 1].str;
      }
    }
    return out;
  }

  static std::string plugin_dir_;
};

std::string UnreadEventTest::plugin_dir_;

TEST_F(UnreadEventTest, ABatchCountsExactlyLikeItsRecordsOneByOne) {
  std::vector<Stored> one = MakeBatch(6000, 96000);
  std::vector<Stored> batch = MakeBatch(6100, 96100);
  ASSERT_EQ(one.size(), 125u);
  int64_t errors_before = Counter("counter_errors") + Counter("event_errors");

  for (const Stored& e : one) {
    ASSERT_EQ(Publish(std::string(plugins::events::Encode(e))), "1");
  }
  ASSERT_EQ(Publish(plugins::events::EncodeBatch(batch)), "1");

  Counters expected_one = Simulate(one);
  Counters expected_batch = Simulate(batch);
  EXPECT_EQ(Read(expected_one), expected_one);
  EXPECT_EQ(Read(expected_batch), expected_batch);
  // Spot checks: receiver 6101 got i = 0, 7, 14, ... from senders 20 + i % 11.
  EXPECT_EQ(HGet("unread_6101", "6120"), "2");  // i = 0 and 77
  EXPECT_EQ(HGet("96101_im_group_msg", "count"), expected_batch["96101_im_group_msg"]["count"]);
  EXPECT_EQ(HGet("6108_96101_im_user_group", "count"), "35")
      << "the marker of the sender of the last group record is the group's final count";
  EXPECT_EQ(Counter("counter_errors") + Counter("event_errors"), errors_before);
}

TEST_F(UnreadEventTest, ACommandErrorFailsOnlyItsOwnRecord) {
  // unread_6201 and 96201_im_group_msg are strings: HINCRBY on them fails.
  redis_->Command(unread_db(), "SET", "unread_6201", "not a hash");
  redis_->Command(unread_db(), "SET", "96201_im_group_msg", "not a hash");
  std::vector<Stored> batch = {Record(1, 6202, 6201), Record(1, 6202, 6203), Record(2, 6204, 96201),
                               Record(2, 6204, 96202), Record(1, 6202, 6203)};
  int64_t before = Counter("counter_errors");

  ASSERT_EQ(Publish(plugins::events::EncodeBatch(batch)), "1");

  EXPECT_EQ(Counter("counter_errors"), before + 2);
  EXPECT_EQ(HGet("unread_6203", "6202"), "2");
  EXPECT_EQ(HGet("96202_im_group_msg", "count"), "1");
  EXPECT_EQ(HGet("6204_96202_im_user_group", "count"), "1");
  EXPECT_EQ(HGet("6204_96201_im_user_group", "count"), "(nil)");
  EXPECT_EQ(redis_->Command(unread_db(), "GET", "unread_6201").str, "not a hash");
}

TEST_F(UnreadEventTest, MalformedPayloadsAreRejectedWholeAndCounted) {
  std::vector<Stored> two = {Record(1, 6301, 6302), Record(2, 6301, 96301)};
  std::vector<Stored> bad_version = {Record(1, 6301, 6302), Record(1, 6303, 6302),
                                     Record(2, 6301, 96301)};
  bad_version[1].version = 0;
  int64_t before = Counter("event_errors");

  EXPECT_EQ(Publish(""), "1");
  EXPECT_EQ(Publish(plugins::events::EncodeBatch(two) + "xyz"), "1");
  EXPECT_EQ(Publish(plugins::events::EncodeBatch(bad_version)), "1");

  EXPECT_EQ(Counter("event_errors"), before + 3);
  EXPECT_EQ(redis_
                ->Command(unread_db(), "EXISTS", "unread_6302", "96301_im_group_msg",
                          "6301_96301_im_user_group")
                .integer,
            0)
      << "nothing of a rejected payload is counted";

  // A record of an unknown type is skipped alone; the rest of its batch counts.
  std::vector<Stored> mixed = {Record(1, 6304, 6305), Record(3, 6304, 6305),
                               Record(2, 6304, 96302)};
  ASSERT_EQ(Publish(plugins::events::EncodeBatch(mixed)), "1");
  EXPECT_EQ(Counter("event_errors"), before + 4);
  EXPECT_EQ(HGet("unread_6305", "6304"), "1");
  EXPECT_EQ(HGet("96302_im_group_msg", "count"), "1");
}

// A batch whose Redis round trip fails goes to the repair queue in MySQL and is counted
// once Redis answers again -- exactly once, even when its rows are replayed twice.
TEST(UnreadBatchOutage, RedisDownQueuesTheBatchAndTheRepairCountsItExactlyOnce) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  std::unique_ptr<TcpProxy> proxy =
      TcpProxy::Start(redis->env().redis_host, redis->env().redis_port);
  std::string plugin_dir = PluginDirWithProbe();
  DaemonProcess daemon;
  DaemonProcess::Options options;
  options.plugins = {"unread", "session_test_probe"};
  options.plugin_dir = plugin_dir;
  options.redis_ports["unread"] = proxy->port();
  options.extra_yaml_modules = "unread:\n  repair_interval_ms: 100\n";
  ASSERT_TRUE(daemon.Start(*db, *redis, options));
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon.port()));
  int u = redis->db("unread");
  auto counter = [&](const char* name) {
    return PluginCounter(daemon.metrics_port(), "unread", name);
  };
  // A locking read sees the latest committed rows whatever snapshot the harness connection
  // holds; the COMMIT after it releases its locks at once.
  auto queued = [&] {
    std::string n = db->QueryValue("SELECT COUNT(*) FROM dbproxy_unread_repair LOCK IN SHARE MODE")
                        .value_or("no table");
    db->Exec("COMMIT");
    return n;
  };
  std::vector<Stored> batch = {Record(1, 6401, 6402, 1), Record(2, 6401, 96401, 1),
                               Record(1, 6403, 6402, 1), Record(2, 6403, 96401, 2)};
  ASSERT_EQ(PublishOn(client, std::string(plugins::events::Encode(Record(1, 6499, 6498)))), "1");
  ASSERT_EQ(redis->Command(u, "HGET", "unread_6498", 6499).str, "1") << "counting works";
  const int64_t errors_before = counter("counter_errors");

  proxy->Cut();
  EXPECT_EQ(PublishOn(client, plugins::events::EncodeBatch(batch)), "1");
  EXPECT_EQ(counter("counter_errors"), errors_before) << "nothing is lost";
  EXPECT_EQ(counter("counter_repairs_queued"), 4);
  EXPECT_EQ(queued(), "4");
  // Replays while Redis is down keep every row.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(queued(), "4");
  ASSERT_TRUE(proxy->Restore());

  ASSERT_TRUE(WaitFor([&] { return queued() == "0"; }, 15000)) << queued();
  EXPECT_EQ(counter("unread_repairs"), 4);
  EXPECT_EQ(redis->Command(u, "HGET", "unread_6402", 6401).str, "1");
  EXPECT_EQ(redis->Command(u, "HGET", "unread_6402", 6403).str, "1");
  EXPECT_EQ(redis->Command(u, "HGET", "96401_im_group_msg", "count").str, "2");
  EXPECT_EQ(redis->Command(u, "HGET", "6403_96401_im_user_group", "count").str, "2");
  EXPECT_EQ(redis->Command(u, "HGET", "6401_96401_im_user_group", "count").str, "1");

  // The same rows again (a replay whose DELETE was lost, or another daemon's copy): no
  // message is counted twice.
  db->Exec(
      "INSERT INTO dbproxy_unread_repair (sessionType, fromId, toId, msgId) VALUES "
      "(1, 6401, 6402, 1), (2, 6401, 96401, 1), (1, 6403, 6402, 1), (2, 6403, 96401, 2)");
  ASSERT_TRUE(WaitFor([&] { return queued() == "0"; }, 15000)) << queued();
  EXPECT_EQ(redis->Command(u, "HGET", "unread_6402", 6401).str, "1");
  EXPECT_EQ(redis->Command(u, "HGET", "96401_im_group_msg", "count").str, "2");
  // A row that cannot be counted (a key of the wrong type) is dropped, not retried forever.
  redis->Command(u, "SET", "unread_6405", "not a hash");
  db->Exec(
      "INSERT INTO dbproxy_unread_repair (sessionType, fromId, toId, msgId) VALUES "
      "(1, 6404, 6405, 1)");
  ASSERT_TRUE(WaitFor([&] { return queued() == "0"; }, 15000)) << queued();
  EXPECT_EQ(counter("unread_repair_errors"), 1);

  // Later batches count directly again.
  ASSERT_EQ(PublishOn(client, plugins::events::EncodeBatch(batch)), "1");
  EXPECT_EQ(counter("counter_errors"), errors_before);
  EXPECT_EQ(redis->Command(u, "HGET", "unread_6402", 6401).str, "2");
  EXPECT_EQ(redis->Command(u, "HGET", "96401_im_group_msg", "count").str, "4");
  EXPECT_EQ(redis->Command(u, "HGET", "6403_96401_im_user_group", "count").str, "4");
  EXPECT_EQ(queued(), "0");
  daemon.Stop();
  std::filesystem::remove_all(plugin_dir);
}

// ---- Driven by the message module --------------------------------------------------------

IM::Message::IMMsgData MakeMessage(uint32_t from, uint32_t to, int type, const std::string& data) {
  IM::Message::IMMsgData msg;
  msg.set_from_user_id(from);
  msg.set_to_session_id(to);
  msg.set_msg_id(0);
  msg.set_create_time(static_cast<uint32_t>(std::time(nullptr)));
  msg.set_msg_type(static_cast<IM::BaseDefine::MsgType>(type));
  msg.set_msg_data(data);
  msg.set_attach_data(kAttach);
  return msg;
}

class UnreadWithMessageTest : public UnreadSuite {
 protected:
  static void SetUpTestSuite() { StartDaemon({"message", "unread", "group_member"}); }

  uint32_t Send(uint32_t from, uint32_t to, int type, const std::string& data) {
    IM::Message::IMMsgData rsp;
    EXPECT_TRUE(client_.CallMessage(kSidMsg, kMsgData, MakeMessage(from, to, type, data), &rsp));
    EXPECT_NE(rsp.msg_id(), 0u) << "message " << from << " -> " << to << " not stored";
    return rsp.msg_id();
  }
};

TEST_F(UnreadWithMessageTest, SingleMessagesAreCountedPerSender) {
  uint32_t a1 = Send(400, 401, 1, "a1");
  uint32_t a2 = Send(400, 401, 1, "a2 'quoted' \\ %");
  uint32_t b1 = Send(402, 401, 1, "b1");
  ASSERT_NE(a1, a2);

  EXPECT_EQ(HGet("unread_401", "400"), "2");
  EXPECT_EQ(HGet("unread_401", "402"), "1");
  IM::Message::IMUnreadMsgCntRsp rsp = Unread(401);
  EXPECT_EQ(rsp.total_cnt(), 3u);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 2);
  ExpectInfo(rsp.unreadinfo_list(0), 400, 1, 2, a2, "a2 'quoted' \\ %", 1, 400);
  ExpectInfo(rsp.unreadinfo_list(1), 402, 1, 1, b1, "b1", 1, 402);
  // The sender has nothing unread.
  EXPECT_EQ(Unread(400).unreadinfo_list_size(), 0);

  ReadAck(401, 400, IM::BaseDefine::SESSION_TYPE_SINGLE);
  ASSERT_TRUE(WaitFor([&] { return HGet("unread_401", "400") == "(nil)"; }));
  IM::Message::IMUnreadMsgCntRsp after = Unread(401);
  EXPECT_EQ(after.total_cnt(), 1u);
  ASSERT_EQ(after.unreadinfo_list_size(), 1);
  EXPECT_EQ(after.unreadinfo_list(0).session_id(), 402u);
}

TEST_F(UnreadWithMessageTest, LatestMessageCopiesAreUsedOnlyWhileTheirCounterAgrees) {
  auto counter = [&](const char* name) {
    return PluginCounter(daemon_->metrics_port(), "unread", name);
  };
  // Commas, NUL bytes and 4-byte UTF-8 survive the copy.
  const std::string tricky("x,y,,\0\xf0\x9f\x98\x80,z", 12);
  Send(410, 411, 1, "first");
  const uint32_t second = Send(410, 411, 1, tricky);
  const int64_t hits = counter("latest_cache_hits");
  IM::Message::IMUnreadMsgCntRsp rsp = Unread(411);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 1);
  ExpectInfo(rsp.unreadinfo_list(0), 410, 1, 2, second, tricky, 1, 410);
  EXPECT_EQ(counter("latest_cache_hits"), hits + 1) << "answered without the copy";

  // An original db_proxy_server stores a newer message: its row, and INCR of the counter.
  const uint32_t rid = static_cast<uint32_t>(std::stoul(
      *db_->QueryValue("SELECT id FROM IMRelationShip WHERE smallId = 410 AND bigId = 411")));
  AddMessage(rid, 411, 410, second + 1, "from the old server", 1, 1700000000);
  redis_->Command(unread_db(), "INCR", "msg_id_" + std::to_string(rid));
  redis_->Command(unread_db(), "HINCRBY", "unread_411", 410, 1);
  const int64_t misses = counter("latest_cache_misses");
  rsp = Unread(411);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 1);
  ExpectInfo(rsp.unreadinfo_list(0), 410, 1, 3, second + 1, "from the old server", 1, 410);
  EXPECT_EQ(counter("latest_cache_misses"), misses + 1) << "an outdated copy was used";

  // A copy that is not one (hand-edited, truncated) is ignored too.
  redis_->Command(unread_db(), "SET", "dbproxy_latest_410_411",
                  std::to_string(second + 1) + "," + std::to_string(rid) + ",garbage");
  rsp = Unread(411);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 1);
  EXPECT_EQ(rsp.unreadinfo_list(0).latest_msg_data(), "from the old server");

  // The next message through dbproxy refreshes the copy, never lowering it.
  const uint32_t fourth = Send(411, 410, 1, "fourth");
  EXPECT_EQ(fourth, second + 2);
  EXPECT_EQ(redis_->Command(unread_db(), "GET", "dbproxy_latest_410_411").str,
            std::to_string(fourth) + "," + std::to_string(rid) + ",1,411,fourth");
  EXPECT_GT(redis_->Command(unread_db(), "TTL", "dbproxy_latest_410_411").integer, 0);
}

TEST_F(UnreadWithMessageTest, GroupMessagesAreUnreadForMembersButNotForTheSender) {
  // Group 2: users 1..100.
  Send(50, 2, 0x11, "hello group");
  uint32_t second = Send(50, 2, 0x11, "again");

  EXPECT_EQ(HGet("2_im_group_msg", "count"), "2");
  EXPECT_EQ(HGet("50_2_im_user_group", "count"), "2");
  IM::Message::IMUnreadMsgCntRsp member = Unread(51);
  ASSERT_EQ(member.unreadinfo_list_size(), 1);
  ExpectInfo(member.unreadinfo_list(0), 2, 2, 2, second, "again", 0x11, 50);
  EXPECT_EQ(member.total_cnt(), 2u);
  EXPECT_EQ(Unread(50).unreadinfo_list_size(), 0) << "own messages are not unread";

  // 51 answers: now 50 has one unread, 51 none.
  Send(51, 2, 0x11, "reply");
  IM::Message::IMUnreadMsgCntRsp sender = Unread(50);
  ASSERT_EQ(sender.unreadinfo_list_size(), 1);
  EXPECT_EQ(sender.unreadinfo_list(0).unread_cnt(), 1u);
  IM::Message::IMUnreadMsgCntRsp replier = Unread(51);
  EXPECT_EQ(replier.unreadinfo_list_size(), 0);

  ReadAck(52, 2, IM::BaseDefine::SESSION_TYPE_GROUP);
  ASSERT_TRUE(WaitFor([&] { return HGet("52_2_im_user_group", "count") == "3"; }));
  EXPECT_EQ(Unread(52).unreadinfo_list_size(), 0);
}

class MessageWithoutUnreadTest : public UnreadSuite {
 protected:
  static void SetUpTestSuite() { StartDaemon({"message"}); }
};

TEST_F(MessageWithoutUnreadTest, MessagesAreStillStoredAndAnswered) {
  IM::Message::IMMsgData sent;
  ASSERT_TRUE(
      client_.CallMessage(kSidMsg, kMsgData, MakeMessage(410, 411, 1, "no counters"), &sent));
  EXPECT_EQ(sent.msg_id(), 1u);

  IM::Message::IMGetMsgListReq list;
  list.set_user_id(411);
  list.set_session_type(IM::BaseDefine::SESSION_TYPE_SINGLE);
  list.set_session_id(410);
  list.set_msg_id_begin(0);
  list.set_msg_cnt(10);
  IM::Message::IMGetMsgListRsp rsp;
  ASSERT_TRUE(client_.CallMessage(kSidMsg, kMsgListReq, list, &rsp));
  ASSERT_EQ(rsp.msg_list_size(), 1);
  EXPECT_EQ(rsp.msg_list(0).msg_data(), "no counters");
  EXPECT_EQ(redis_->Command(unread_db(), "EXISTS", "unread_411").integer, 0);
}

}  // namespace
}  // namespace dbproxy::testing
