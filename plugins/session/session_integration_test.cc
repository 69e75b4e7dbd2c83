// session over the wire: dbproxyd with the session module (and, for the message-driven
// tests, message and group_member), real MariaDB and Redis.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Message.pb.h"
#include "plugins/common/events.h"
#include "tests/support/daemon_process.h"
#include "tests/support/http_get.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kSidBuddy = 2;
constexpr uint16_t kSidMsg = 3;
constexpr uint16_t kRecentReq = 0x0201;
constexpr uint16_t kRecentRsp = 0x0202;
constexpr uint16_t kRemoveReq = 0x0206;
constexpr uint16_t kRemoveRsp = 0x0207;
constexpr uint16_t kMsgData = 0x0301;

constexpr const char* kAudioPreview = "QhGXlpFjvMFUNrtl1aaPzA==";
const std::string kAttach("\x00\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00", 12);

using Row = TestDatabase::Row;

uint32_t Now() { return static_cast<uint32_t>(std::time(nullptr)); }

bool WaitFor(const std::function<bool()>& cond, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

std::string S(uint64_t v) { return std::to_string(v); }

class SessionSuite : public ::testing::Test {
 protected:
  static void StartDaemon(std::vector<std::string> plugins,
                          std::string plugin_dir = DBPROXY_PLUGIN_DIR) {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    daemon_ = new DaemonProcess();
    DaemonProcess::Options options;
    options.plugins = std::move(plugins);
    options.plugin_dir = std::move(plugin_dir);
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

  IM::Buddy::IMRecentContactSessionRsp Recent(uint32_t user_id, uint32_t since = 0) {
    IM::Buddy::IMRecentContactSessionReq req;
    req.set_user_id(user_id);
    req.set_latest_update_time(since);
    req.set_attach_data(kAttach);
    std::string body;
    req.SerializeToString(&body);
    return RecentRaw(body);
  }
  IM::Buddy::IMRecentContactSessionRsp RecentRaw(const std::string& body) {
    IM::Buddy::IMRecentContactSessionRsp rsp;
    std::optional<WireClient::Frame> frame = client_.Call(kSidBuddy, kRecentReq, body);
    EXPECT_TRUE(frame.has_value()) << "no answer to 0x0201";
    if (frame) {
      EXPECT_EQ(frame->service_id, kSidBuddy);
      EXPECT_EQ(frame->command_id, kRecentRsp);
      EXPECT_TRUE(rsp.ParseFromString(frame->body)) << "0x0202 lacks a required field";
    }
    return rsp;
  }
  IM::Buddy::IMRemoveSessionRsp Remove(uint32_t user_id, uint32_t peer,
                                       IM::BaseDefine::SessionType type) {
    IM::Buddy::IMRemoveSessionReq req;
    req.set_user_id(user_id);
    req.set_session_type(type);
    req.set_session_id(peer);
    req.set_attach_data(kAttach);
    std::string body;
    req.SerializeToString(&body);
    return RemoveRaw(body);
  }
  IM::Buddy::IMRemoveSessionRsp RemoveRaw(const std::string& body) {
    IM::Buddy::IMRemoveSessionRsp rsp;
    std::optional<WireClient::Frame> frame = client_.Call(kSidBuddy, kRemoveReq, body);
    EXPECT_TRUE(frame.has_value()) << "no answer to 0x0206";
    if (frame) {
      EXPECT_EQ(frame->service_id, kSidBuddy);
      EXPECT_EQ(frame->command_id, kRemoveRsp);
      EXPECT_TRUE(rsp.ParseFromString(frame->body)) << "0x0207 lacks a required field";
    }
    return rsp;
  }

  void AddSession(uint32_t user, uint32_t peer, int type, int status, uint32_t updated) {
    db_->Exec(
        "INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) "
        "VALUES (" +
        S(user) + ", " + S(peer) + ", " + S(type) + ", " + S(status) + ", 1, " + S(updated) + ")");
  }
  uint32_t AddRelation(uint32_t a, uint32_t b) {
    db_->Exec("INSERT INTO IMRelationShip (smallId, bigId, status, created, updated) VALUES (" +
              S(std::min(a, b)) + ", " + S(std::max(a, b)) + ", 0, 1, 1)");
    return static_cast<uint32_t>(std::stoul(*db_->QueryValue("SELECT LAST_INSERT_ID()")));
  }
  void AddMessage(uint32_t rid, uint32_t from, uint32_t to, uint32_t msg_id,
                  const std::string& content, int type, uint32_t created) {
    db_->Exec("INSERT INTO IMMessage_" + S(rid % 8) +
              " (relateId, fromId, toId, msgId, content, type, status, created, updated) "
              "VALUES (" +
              S(rid) + ", " + S(from) + ", " + S(to) + ", " + S(msg_id) + ", '" + content + "', " +
              S(type) + ", 0, " + S(created) + ", " + S(created) + ")");
  }
  void AddGroupMessage(uint32_t gid, uint32_t from, uint32_t msg_id, const std::string& content,
                       int type, uint32_t created) {
    db_->Exec("INSERT INTO IMGroupMessage_" + S(gid % 8) +
              " (groupId, userId, msgId, content, type, status, created, updated) VALUES (" +
              S(gid) + ", " + S(from) + ", " + S(msg_id) + ", '" + content + "', " + S(type) +
              ", 0, " + S(created) + ", " + S(created) + ")");
  }
  // (status, updated) of every session row of user with peer/type, by id.
  std::vector<Row> SessionRows(uint32_t user, uint32_t peer, int type) {
    return db_->Query("SELECT status, updated FROM IMRecentSession WHERE userId = " + S(user) +
                      " AND peerId = " + S(peer) + " AND type = " + S(type) + " ORDER BY id");
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  static DaemonProcess* daemon_;
  WireClient client_;
};

TestDatabase* SessionSuite::db_ = nullptr;
TestRedis* SessionSuite::redis_ = nullptr;
DaemonProcess* SessionSuite::daemon_ = nullptr;

void ExpectSession(const IM::BaseDefine::ContactSessionInfo& s, uint32_t id, int type,
                   uint32_t updated, uint32_t msg_id, const std::string& data, int msg_type,
                   uint32_t from) {
  EXPECT_EQ(s.session_id(), id);
  EXPECT_EQ(s.session_type(), type) << "session " << id;
  EXPECT_EQ(s.session_status(), 0) << "session " << id;
  EXPECT_EQ(s.updated_time(), updated) << "session " << id;
  EXPECT_EQ(s.latest_msg_id(), msg_id) << "session " << id;
  EXPECT_EQ(s.latest_msg_data(), data) << "session " << id;
  EXPECT_EQ(s.latest_msg_type(), msg_type) << "session " << id;
  EXPECT_EQ(s.latest_msg_from_user_id(), from) << "session " << id;
}

// ---- Seeded data: the session module alone ----------------------------------------------

class SessionSeededTest : public SessionSuite {
 protected:
  static void SetUpTestSuite() { StartDaemon({"session"}); }
};

TEST_F(SessionSeededTest, RecentListIsNewestFirstWithLatestMessages) {
  uint32_t r701 = AddRelation(700, 701);
  AddMessage(r701, 701, 700, 1, "hi", 1, 100);
  AddMessage(r701, 700, 701, 2, "hi back", 1, 101);  // the user's own: from is still 701
  uint32_t r702 = AddRelation(702, 700);
  AddMessage(r702, 702, 700, 4, "99", 2, 100);  // audio
  AddRelation(700, 703);                        // a relation without messages
  AddGroupMessage(77, 5, 8, "group text", 17, 100);
  AddGroupMessage(77, 6, 9, "group latest", 17, 101);

  AddSession(700, 701, 1, 0, 3000);
  AddSession(700, 701, 1, 0, 2900);  // legacy duplicate: listed once, as the newest
  AddSession(700, 77, 2, 0, 2000);
  AddSession(700, 703, 1, 0, 2500);  // no message: left out
  AddSession(700, 704, 1, 1, 4000);  // removed: left out
  AddSession(700, 705, 0, 0, 4000);  // not a session type: left out
  AddSession(700, 702, 1, 0, 1000);

  IM::Buddy::IMRecentContactSessionRsp rsp = Recent(700);

  EXPECT_EQ(rsp.user_id(), 700u);
  EXPECT_EQ(rsp.attach_data(), kAttach);
  ASSERT_EQ(rsp.contact_session_list_size(), 3);
  ExpectSession(rsp.contact_session_list(0), 701, 1, 3000, 2, "hi back", 1, 701);
  ExpectSession(rsp.contact_session_list(1), 77, 2, 2000, 9, "group latest", 17, 6);
  ExpectSession(rsp.contact_session_list(2), 702, 1, 1000, 4, kAudioPreview, 2, 702);

  IM::Buddy::IMRecentContactSessionRsp since = Recent(700, 2000);
  ASSERT_EQ(since.contact_session_list_size(), 1) << "only sessions updated after 2000";
  EXPECT_EQ(since.contact_session_list(0).session_id(), 701u);
}

TEST_F(SessionSeededTest, RecentListStopsAtMaxSessions) {
  // 120 group sessions (groups 1001..1120), each with a message, updated 1..120.
  std::string sessions;
  std::vector<std::string> messages(8);
  for (uint32_t i = 1; i <= 120; ++i) {
    uint32_t gid = 1000 + i;
    sessions += (sessions.empty() ? "" : ", ") + std::string("(710, ") + S(gid) + ", 2, 0, 1, " +
                S(i) + ")";
    std::string& shard = messages[gid % 8];
    shard += (shard.empty() ? "" : ", ") + std::string("(") + S(gid) + ", 3, 1, 'm" + S(gid) +
             "', 17, 0, 5, 5)";
  }
  db_->Exec("INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES " +
            sessions);
  for (int s = 0; s < 8; ++s) {
    db_->Exec("INSERT INTO IMGroupMessage_" + S(s) +
              " (groupId, userId, msgId, content, type, status, created, updated) VALUES " +
              messages[s]);
  }

  IM::Buddy::IMRecentContactSessionRsp rsp = Recent(710);

  ASSERT_EQ(rsp.contact_session_list_size(), 100);
  for (int i = 0; i < 100; ++i) {
    uint32_t gid = 1120 - i;
    ExpectSession(rsp.contact_session_list(i), gid, 2, 120 - i, 1, "m" + S(gid), 17, 3);
  }
}

TEST_F(SessionSeededTest, GroupLatestIsTheHighestLiveMsgIdInEveryShard) {
  // Groups 2001..2008 cover the eight shards. In each: msgId 3 is the latest although
  // msgId 2 has the newer clock (TeamTalk's created DESC would pick 2), and a deleted
  // msgId 4 is skipped. Group 2009 has only a deleted row: left out.
  std::vector<std::string> messages(8);
  for (uint32_t gid = 2001; gid <= 2009; ++gid) {
    std::string& shard = messages[gid % 8];
    std::string g = S(gid);
    std::string rows = gid == 2009 ? "(" + g + ", 9, 1, 'gone', 17, 1, 10, 10)"
                                   : "(" + g + ", 7, 3, 'g" + g + " msg 3', 17, 0, 10, 10), (" + g +
                                         ", 8, 2, 'msg 2', 17, 0, 20, 20), (" + g +
                                         ", 9, 4, 'deleted', 17, 1, 30, 30)";
    shard += (shard.empty() ? "" : ", ") + rows;
    AddSession(790, gid, 2, 0, 3000 - gid);
  }
  for (int k = 0; k < 8; ++k) {
    db_->Exec("INSERT INTO IMGroupMessage_" + S(k) +
              " (groupId, userId, msgId, content, type, status, created, updated) VALUES " +
              messages[k]);
  }

  IM::Buddy::IMRecentContactSessionRsp rsp = Recent(790);

  ASSERT_EQ(rsp.contact_session_list_size(), 8);
  for (int i = 0; i < 8; ++i) {
    uint32_t gid = 2001 + static_cast<uint32_t>(i);
    ExpectSession(rsp.contact_session_list(i), gid, 2, 3000 - gid, 3, "g" + S(gid) + " msg 3", 17,
                  7);
  }
}

TEST_F(SessionSeededTest, RemoveMarksTheSessionRemovedAndClearsItsUnreadCounter) {
  AddSession(720, 721, 1, 0, 100);
  AddSession(720, 721, 1, 0, 90);  // legacy duplicate: removed too
  int unread = redis_->db("unread");
  redis_->Command(unread, "HSET", "unread_720", 721, 3, 722, 1);
  uint32_t before = Now();

  IM::Buddy::IMRemoveSessionRsp rsp = Remove(720, 721, IM::BaseDefine::SESSION_TYPE_SINGLE);

  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(rsp.user_id(), 720u);
  EXPECT_EQ(rsp.session_id(), 721u);
  EXPECT_EQ(rsp.session_type(), IM::BaseDefine::SESSION_TYPE_SINGLE);
  EXPECT_EQ(rsp.attach_data(), kAttach);
  std::vector<Row> rows = SessionRows(720, 721, 1);
  ASSERT_EQ(rows.size(), 2u);
  for (const Row& row : rows) {
    EXPECT_EQ(row[0], "1");
    EXPECT_GE(std::stoul(*row[1]), before);
    EXPECT_LE(std::stoul(*row[1]), Now());
  }
  EXPECT_TRUE(redis_->Command(unread, "HGET", "unread_720", 721).is_nil());
  EXPECT_EQ(redis_->Command(unread, "HGET", "unread_720", 722).str, "1");

  // Already removed, never existed, or another type: nothing to remove.
  EXPECT_EQ(Remove(720, 721, IM::BaseDefine::SESSION_TYPE_SINGLE).result_code(), 1u);
  EXPECT_EQ(Remove(720, 729, IM::BaseDefine::SESSION_TYPE_SINGLE).result_code(), 1u);
  AddSession(720, 723, 1, 0, 100);
  EXPECT_EQ(Remove(720, 723, IM::BaseDefine::SESSION_TYPE_GROUP).result_code(), 1u);
  EXPECT_EQ(SessionRows(720, 723, 1)[0][0], "0");
}

TEST_F(SessionSeededTest, RemovingAGroupSessionMarksTheGroupRead) {
  AddSession(724, 78, 2, 0, 100);
  int unread = redis_->db("unread");
  redis_->Command(unread, "HSET", "78_im_group_msg", "count", 12);
  redis_->Command(unread, "HSET", "724_78_im_user_group", "count", 2);

  IM::Buddy::IMRemoveSessionRsp rsp = Remove(724, 78, IM::BaseDefine::SESSION_TYPE_GROUP);

  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(rsp.session_type(), IM::BaseDefine::SESSION_TYPE_GROUP);
  EXPECT_EQ(SessionRows(724, 78, 2)[0][0], "1");
  EXPECT_EQ(redis_->Command(unread, "HGET", "724_78_im_user_group", "count").str, "12");
}

TEST_F(SessionSeededTest, RemoveWithAnUnknownSessionTypeAnswersResult1) {
  AddSession(725, 726, 1, 0, 100);
  // user_id 725, session_type 3 (no such SessionType), session_id 726, attach_data "ab".
  std::string body(
      "\x08\xd5\x05\x10\x03\x18\xd6\x05\xa2\x01\x02"
      "ab",
      13);

  IM::Buddy::IMRemoveSessionRsp rsp = RemoveRaw(body);

  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_EQ(rsp.user_id(), 725u);
  EXPECT_EQ(rsp.session_id(), 726u);
  EXPECT_EQ(rsp.session_type(), IM::BaseDefine::SESSION_TYPE_SINGLE);
  EXPECT_EQ(rsp.attach_data(), "ab");
  EXPECT_EQ(SessionRows(725, 726, 1)[0][0], "0") << "nothing removed";

  IM::Buddy::IMRemoveSessionRsp garbage = RemoveRaw(std::string("\xff\xff", 2));
  EXPECT_EQ(garbage.result_code(), 1u);
  EXPECT_TRUE(garbage.has_attach_data());
}

TEST_F(SessionSeededTest, UnparsableRecentRequestAnswersAnEmptyList) {
  IM::Buddy::IMRecentContactSessionReq req;
  req.set_user_id(700);  // latest_update_time missing: required
  req.set_attach_data(kAttach);

  IM::Buddy::IMRecentContactSessionRsp rsp = RecentRaw(req.SerializePartialAsString());

  EXPECT_EQ(rsp.user_id(), 700u);
  EXPECT_EQ(rsp.contact_session_list_size(), 0);
  EXPECT_EQ(rsp.attach_data(), kAttach);
}

TEST_F(SessionSeededTest, StorageFailureAnswersAnEmptyList) {
  uint32_t rid = AddRelation(730, 731);
  AddMessage(rid, 731, 730, 1, "x", 1, 100);
  AddSession(730, 731, 1, 0, 100);
  db_->Exec("RENAME TABLE IMRelationShip TO IMRelationShip_away");

  IM::Buddy::IMRecentContactSessionRsp rsp = Recent(730);
  db_->Exec("RENAME TABLE IMRelationShip_away TO IMRelationShip");

  EXPECT_EQ(rsp.user_id(), 730u);
  EXPECT_EQ(rsp.contact_session_list_size(), 0);
  EXPECT_EQ(Recent(730).contact_session_list_size(), 1) << "recovers once the table is back";
}

TEST(SessionConfig, RejectsAFlushIntervalOutOfRange) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  DaemonProcess daemon;
  DaemonProcess::Options options;
  options.plugins = {"session"};
  options.extra_yaml_modules = "session:\n  group_session_flush_ms: 0\n";
  ASSERT_TRUE(daemon.Spawn(*db, *redis, options));

  std::optional<int> status = daemon.WaitExit(20000);
  ASSERT_TRUE(status.has_value()) << "dbproxyd started with group_session_flush_ms 0";
  EXPECT_NE(*status, 0);
  EXPECT_NE(daemon.ReadLog().find("session.group_session_flush_ms must be between 10 and 60000, "
                                  "got 0"),
            std::string::npos)
      << daemon.ReadLog();
}

// ---- Driven by the message module --------------------------------------------------------

IM::Message::IMMsgData MakeMessage(uint32_t from, uint32_t to, int type, const std::string& data) {
  IM::Message::IMMsgData msg;
  msg.set_from_user_id(from);
  msg.set_to_session_id(to);
  msg.set_msg_id(0);
  msg.set_create_time(Now());
  msg.set_msg_type(static_cast<IM::BaseDefine::MsgType>(type));
  msg.set_msg_data(data);
  msg.set_attach_data(kAttach);
  return msg;
}

uint32_t SendOn(WireClient& client, uint32_t from, uint32_t to, int type, const std::string& data) {
  IM::Message::IMMsgData rsp;
  if (!client.CallMessage(kSidMsg, kMsgData, MakeMessage(from, to, type, data), &rsp, 10000)) {
    return 0;
  }
  return rsp.msg_id();
}

class SessionWithMessageTest : public SessionSuite {
 protected:
  static void SetUpTestSuite() { StartDaemon({"message", "session", "group_member"}); }
};

TEST_F(SessionWithMessageTest, FirstMessageCreatesTheSessionsOfSenderAndReceiver) {
  uint32_t before = Now();
  uint32_t msg_id = SendOn(client_, 800, 801, 1, "first 'one'");
  uint32_t after = Now();
  ASSERT_NE(msg_id, 0u);

  for (auto [user, peer] : {std::pair<uint32_t, uint32_t>{800, 801}, {801, 800}}) {
    std::vector<Row> rows = SessionRows(user, peer, 1);
    ASSERT_EQ(rows.size(), 1u) << user << " -> " << peer;
    EXPECT_EQ(rows[0][0], "0");
    EXPECT_GE(std::stoul(*rows[0][1]), before);
    EXPECT_LE(std::stoul(*rows[0][1]), after);
    IM::Buddy::IMRecentContactSessionRsp rsp = Recent(user);
    ASSERT_EQ(rsp.contact_session_list_size(), 1);
    ExpectSession(rsp.contact_session_list(0), peer, 1,
                  static_cast<uint32_t>(std::stoul(*rows[0][1])), msg_id, "first 'one'", 1, peer);
  }
}

TEST_F(SessionWithMessageTest, LaterMessagesBumpUpdatedAndReviveARemovedSession) {
  ASSERT_NE(SendOn(client_, 802, 803, 1, "one"), 0u);
  db_->Exec("UPDATE IMRecentSession SET updated = 5 WHERE userId IN (802, 803) AND type = 1");
  ASSERT_EQ(Remove(803, 802, IM::BaseDefine::SESSION_TYPE_SINGLE).result_code(), 0u);
  ASSERT_EQ(Recent(803).contact_session_list_size(), 0);

  uint32_t before = Now();
  ASSERT_NE(SendOn(client_, 802, 803, 1, "two"), 0u);

  for (auto [user, peer] : {std::pair<uint32_t, uint32_t>{802, 803}, {803, 802}}) {
    std::vector<Row> rows = SessionRows(user, peer, 1);
    ASSERT_EQ(rows.size(), 1u) << "no new row: the existing one is reused";
    EXPECT_EQ(rows[0][0], "0") << user;
    EXPECT_GE(std::stoul(*rows[0][1]), before) << user;
  }
  IM::Buddy::IMRecentContactSessionRsp rsp = Recent(803);
  ASSERT_EQ(rsp.contact_session_list_size(), 1);
  EXPECT_EQ(rsp.contact_session_list(0).latest_msg_data(), "two");
}

// Sends kSenders messages at once, each on its own connection, alternating directions
// between a and b; returns the msg ids.
std::vector<uint32_t> SendConcurrently(uint16_t port, uint32_t a, uint32_t b) {
  constexpr int kSenders = 50;
  std::vector<WireClient> clients(kSenders);
  for (WireClient& c : clients) {
    EXPECT_TRUE(c.Connect(port));
  }
  std::vector<uint32_t> ids(kSenders);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kSenders; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kSenders) {
        std::this_thread::yield();
      }
      ids[i] =
          SendOn(clients[i], i % 2 == 0 ? a : b, i % 2 == 0 ? b : a, 1, "m" + std::to_string(i));
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  return ids;
}

TEST_F(SessionWithMessageTest, FiftyConcurrentFirstMessagesOnOnePairCreateOneRowPerSide) {
  for (uint32_t id : SendConcurrently(daemon_->port(), 810, 811)) {
    EXPECT_NE(id, 0u);
  }

  EXPECT_EQ(SessionRows(810, 811, 1).size(), 1u);
  EXPECT_EQ(SessionRows(811, 810, 1).size(), 1u);
  EXPECT_EQ(SessionRows(810, 811, 1)[0][0], "0");
}

TEST_F(SessionWithMessageTest, FiftyConcurrentMessagesRecreateLostSessionRowsOnce) {
  // The relation exists, so the messages are stored in parallel and every event finds the
  // session rows missing at about the same time.
  ASSERT_NE(SendOn(client_, 812, 813, 1, "first"), 0u);
  db_->Exec("DELETE FROM IMRecentSession WHERE userId IN (812, 813)");

  for (uint32_t id : SendConcurrently(daemon_->port(), 812, 813)) {
    EXPECT_NE(id, 0u);
  }

  EXPECT_EQ(SessionRows(812, 813, 1).size(), 1u);
  EXPECT_EQ(SessionRows(813, 812, 1).size(), 1u);
}

TEST_F(SessionWithMessageTest, GroupMessageShowsTheGroupToAll500MembersWithinOneSecond) {
  // Group 4: users 1..500. Member 400 had removed the group session: it stays removed.
  AddSession(400, 4, 2, 1, 7);
  uint32_t before = Now();
  uint32_t msg_id = SendOn(client_, 10, 4, 0x11, "to five hundred");
  auto sent = std::chrono::steady_clock::now();
  ASSERT_NE(msg_id, 0u);

  // The sender's own session exists at once.
  std::vector<Row> own = SessionRows(10, 4, 2);
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0][0], "0");

  auto shown = [&] {
    return db_->QueryValue(
               "SELECT COUNT(DISTINCT userId) FROM IMRecentSession WHERE peerId = 4 AND type = 2 "
               "AND status = 0 AND updated >= " +
               S(before)) == "499";
  };
  bool in_time = WaitFor(shown, 1000);
  auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent)
          .count();
  EXPECT_TRUE(in_time) << "after " << took << " ms only "
                       << *db_->QueryValue(
                              "SELECT COUNT(*) FROM IMRecentSession WHERE peerId = 4 "
                              "AND type = 2 AND status = 0");
  EXPECT_EQ(db_->QueryValue("SELECT COUNT(*) FROM IMRecentSession WHERE peerId = 4 AND type = 2"),
            "500")
      << "one row per member, no duplicates";
  std::vector<Row> removed = SessionRows(400, 4, 2);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0][0], "1") << "a removed group session is not revived by others' messages";

  IM::Buddy::IMRecentContactSessionRsp rsp = Recent(300);
  ASSERT_EQ(rsp.contact_session_list_size(), 1);
  EXPECT_EQ(rsp.contact_session_list(0).session_id(), 4u);
  EXPECT_EQ(rsp.contact_session_list(0).session_type(), IM::BaseDefine::SESSION_TYPE_GROUP);
  EXPECT_EQ(rsp.contact_session_list(0).latest_msg_id(), msg_id);
  EXPECT_EQ(rsp.contact_session_list(0).latest_msg_data(), "to five hundred");
  EXPECT_EQ(rsp.contact_session_list(0).latest_msg_from_user_id(), 10u);

  // A second message bumps everyone's session within a second, still one row each.
  db_->Exec("UPDATE IMRecentSession SET updated = 1 WHERE peerId = 4 AND type = 2");
  ASSERT_NE(SendOn(client_, 11, 4, 0x11, "again"), 0u);
  EXPECT_TRUE(WaitFor(
      [&] {
        return db_->QueryValue(
                   "SELECT COUNT(*) FROM IMRecentSession WHERE peerId = 4 AND "
                   "type = 2 AND updated >= " +
                   S(before)) == "500";
      },
      1000));
  EXPECT_EQ(db_->QueryValue("SELECT COUNT(*) FROM IMRecentSession WHERE peerId = 4 AND type = 2"),
            "500");
  EXPECT_EQ(SessionRows(400, 4, 2)[0][0], "1");
}

// ---- Concurrent events, published by the test-only probe module --------------------------

// A plugin directory holding the real modules and the probe (built into the test-plugin
// directory), as symlinks. Removed when the suite ends.
std::string PluginDirWithProbe() {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("session_probe_plugins_" + std::to_string(::getpid())))
                        .string();
  std::filesystem::create_directories(dir);
  for (const char* name : {"session.so", "group_member.so"}) {
    std::filesystem::create_symlink(std::string(DBPROXY_PLUGIN_DIR) + "/" + name, dir + "/" + name);
  }
  std::filesystem::create_symlink(std::string(DBPROXY_TEST_PLUGIN_DIR) + "/session_test_probe.so",
                                  dir + "/session_test_probe.so");
  return dir;
}

class SessionEventTest : public SessionSuite {
 protected:
  static void SetUpTestSuite() {
    plugin_dir_ = PluginDirWithProbe();
    StartDaemon({"session", "group_member", "session_test_probe"}, plugin_dir_);
  }
  static void TearDownTestSuite() {
    SessionSuite::TearDownTestSuite();
    std::filesystem::remove_all(plugin_dir_);
  }

  static plugins::events::MessageStored Record(int type, uint32_t from, uint32_t to,
                                               uint32_t stored_at) {
    plugins::events::MessageStored e;
    e.session_type = static_cast<uint32_t>(type);
    e.from_user_id = from;
    e.to_id = to;
    e.msg_id = 1;
    e.msg_type = type == 1 ? 1 : 0x11;
    e.create_time = stored_at;
    e.stored_at = stored_at;
    return e;
  }
  static std::string Event(int type, uint32_t from, uint32_t to, uint32_t stored_at) {
    return std::string(plugins::events::Encode(Record(type, from, to, stored_at)));
  }

  // Publishes one payload on client_; the probe's answer ("1": one subscriber got it).
  std::string Publish(const std::string& payload) {
    std::optional<WireClient::Frame> f = client_.Call(7, 0x7f01, payload, 20000);
    return f ? f->body : "no answer";
  }
  int64_t Counter(const char* name) {
    return PluginCounter(daemon_->metrics_port(), "session", name);
  }

  // Publishes every event at once, each from its own connection. Expects each to reach one
  // subscriber (the session module).
  void PublishConcurrently(const std::vector<std::string>& events) {
    std::vector<WireClient> clients(events.size());
    for (WireClient& c : clients) {
      ASSERT_TRUE(c.Connect(daemon_->port()));
    }
    std::vector<std::string> answers(events.size());
    std::atomic<size_t> ready{0};
    std::vector<std::thread> threads;
    for (size_t i = 0; i < events.size(); ++i) {
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < events.size()) {
          std::this_thread::yield();
        }
        std::optional<WireClient::Frame> f = clients[i].Call(7, 0x7f01, events[i], 10000);
        answers[i] = f ? f->body : "no answer";
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
    for (const std::string& a : answers) {
      EXPECT_EQ(a, "1");
    }
  }

  static std::string plugin_dir_;
};

std::string SessionEventTest::plugin_dir_;

TEST_F(SessionEventTest, FiftySimultaneousFirstEventsOfOnePairCreateOneRowPerSide) {
  std::vector<std::string> events;
  for (int i = 0; i < 50; ++i) {
    events.push_back(i % 2 == 0 ? Event(1, 820, 821, 1000 + i) : Event(1, 821, 820, 1000 + i));
  }

  PublishConcurrently(events);

  for (auto [user, peer] : {std::pair<uint32_t, uint32_t>{820, 821}, {821, 820}}) {
    std::vector<Row> rows = SessionRows(user, peer, 1);
    ASSERT_EQ(rows.size(), 1u) << user << " -> " << peer;
    EXPECT_EQ(rows[0][0], "0");
    EXPECT_EQ(rows[0][1], "1049") << "updated is the newest stored_at";
  }
}

TEST_F(SessionEventTest, SimultaneousGroupEventsCreateEachMembersRowOnce) {
  // Group 2: users 1..100. Twenty members post at once, each twice.
  std::vector<std::string> events;
  for (uint32_t sender = 1; sender <= 20; ++sender) {
    events.push_back(Event(2, sender, 2, 2000));
    events.push_back(Event(2, sender, 2, 2001));
  }

  PublishConcurrently(events);

  // Senders' own rows exist as soon as their events were handled.
  EXPECT_EQ(db_->QueryValue("SELECT COUNT(*) FROM IMRecentSession WHERE peerId = 2 AND type = 2 "
                            "AND userId <= 20"),
            "20");
  EXPECT_TRUE(WaitFor(
      [&] {
        return db_->QueryValue(
                   "SELECT COUNT(DISTINCT userId) FROM IMRecentSession WHERE "
                   "peerId = 2 AND type = 2 AND status = 0 AND updated = 2001") == "100";
      },
      1000));
  EXPECT_EQ(db_->QueryValue("SELECT COUNT(*) FROM IMRecentSession WHERE peerId = 2 AND type = 2"),
            "100");
}

TEST_F(SessionEventTest, AnOlderEventNeverMovesUpdatedBack) {
  PublishConcurrently({Event(1, 822, 823, 5000)});
  PublishConcurrently({Event(1, 823, 822, 4000)});

  EXPECT_EQ(SessionRows(822, 823, 1)[0][1], "5000");
  EXPECT_EQ(SessionRows(823, 822, 1)[0][1], "5000");
}

TEST_F(SessionEventTest, EventsThatCannotBeUnderstoodChangeNothing) {
  PublishConcurrently({std::string("short"), Event(3, 824, 825, 100), Event(1, 0, 825, 100)});

  EXPECT_EQ(db_->QueryValue("SELECT COUNT(*) FROM IMRecentSession WHERE userId IN (824, 825) "
                            "OR peerId IN (824, 825)"),
            "0");
}

// ---- Batches: one event carrying the records of one commit ------------------------------

using Stored = plugins::events::MessageStored;

// Test data for users base+1..base+240 and groups gbase+1..gbase+2 (groups that do not exist,
// so the flusher writes no member rows and only the senders' own group sessions change):
//   70 new pairs (base+1+i, base+121+i), alternating directions, stored_at 1000+i;
//   40 pairs with rows (base+71+i, base+191+i), stored_at 2000+i: one side shown with an
//      older updated, the other removed with a newer updated; pair 0 has a legacy duplicate;
//   the first new pair three more times, out of order (3000, 2500, 3100); a message to
//      oneself (base+1); group records interleaved: senders base+1..base+5 to gbase+1
//      (new), base+6 to gbase+2 twice (4000, then 3900), base+7 to gbase+1 (had removed it).
// 122 records, 229 rows afterwards: 201 distinct single sides (4 statements of 64) of
// which 141 are new, under 71 pair locks (2 lock statements).
struct Pattern {
  std::vector<Stored> records;
  uint32_t base;
  uint32_t gbase;
};

Pattern MakePattern(uint32_t base, uint32_t gbase) {
  Pattern p{{}, base, gbase};
  auto single = [](uint32_t from, uint32_t to, uint32_t at) {
    Stored e;
    e.session_type = 1;
    e.from_user_id = from;
    e.to_id = to;
    e.msg_id = at;
    e.msg_type = 1;
    e.create_time = at;
    e.stored_at = at;
    return e;
  };
  auto group = [](uint32_t from, uint32_t gid, uint32_t at) {
    Stored e;
    e.session_type = 2;
    e.from_user_id = from;
    e.to_id = gid;
    e.msg_id = at;
    e.msg_type = 0x11;
    e.create_time = at;
    e.stored_at = at;
    return e;
  };
  std::vector<Stored> groups = {group(base + 1, gbase + 1, 4000), group(base + 2, gbase + 1, 4001),
                                group(base + 6, gbase + 2, 4000), group(base + 3, gbase + 1, 4002),
                                group(base + 4, gbase + 1, 4003), group(base + 6, gbase + 2, 3900),
                                group(base + 5, gbase + 1, 4004), group(base + 7, gbase + 1, 4005)};
  size_t next_group = 0;
  auto add = [&](const Stored& e) {
    p.records.push_back(e);
    if (p.records.size() % 14 == 0 && next_group < groups.size()) {
      p.records.push_back(groups[next_group++]);
    }
  };
  for (uint32_t i = 0; i < 70; ++i) {
    uint32_t a = base + 1 + i;
    uint32_t b = base + 121 + i;
    add(i % 2 == 0 ? single(a, b, 1000 + i) : single(b, a, 1000 + i));
  }
  for (uint32_t i = 0; i < 40; ++i) {
    add(single(base + 71 + i, base + 191 + i, 2000 + i));
  }
  add(single(base + 1, base + 121, 3000));
  add(single(base + 121, base + 1, 2500));
  add(single(base + 1, base + 121, 3100));
  add(single(base + 1, base + 1, 1500));
  while (next_group < groups.size()) {
    p.records.push_back(groups[next_group++]);
  }
  return p;
}

class SessionBatchTest : public SessionEventTest {
 protected:
  // The rows the pattern's existing pairs and removed group session start from.
  void SeedPattern(const Pattern& p) {
    for (uint32_t i = 0; i < 40; ++i) {
      AddSession(p.base + 71 + i, p.base + 191 + i, 1, 0, 10);
      AddSession(p.base + 191 + i, p.base + 71 + i, 1, 1, 9000000);
    }
    AddSession(p.base + 71, p.base + 191, 1, 0, 20);  // legacy duplicate: both rows shown
    AddSession(p.base + 7, p.gbase + 1, 2, 1, 5);
  }
  // Every row of the pattern's users, ids relative to the bases, in a fixed order:
  // "user peer type status updated".
  std::vector<std::string> Dump(const Pattern& p) {
    std::vector<std::string> out;
    for (const Row& row : db_->Query(
             "SELECT userId - " + S(p.base) + ", peerId - IF(type = 1, " + S(p.base) + ", " +
             S(p.gbase) + "), type, status, updated FROM IMRecentSession WHERE userId BETWEEN " +
             S(p.base + 1) + " AND " + S(p.base + 240) +
             " ORDER BY userId, type, peerId, updated, status")) {
      out.push_back(*row[0] + " " + *row[1] + " " + *row[2] + " " + *row[3] + " " + *row[4]);
    }
    return out;
  }
};

TEST_F(SessionBatchTest, ABatchLeavesTheSameRowsAsItsRecordsOneByOne) {
  Pattern one = MakePattern(3000, 90000);
  Pattern batch = MakePattern(4000, 91000);
  ASSERT_EQ(one.records.size(), 122u);
  SeedPattern(one);
  SeedPattern(batch);
  int64_t errors_before = Counter("session_errors") + Counter("event_errors");

  for (const Stored& e : one.records) {
    ASSERT_EQ(Publish(std::string(plugins::events::Encode(e))), "1");
  }
  ASSERT_EQ(Publish(plugins::events::EncodeBatch(batch.records)), "1");

  std::vector<std::string> expected = Dump(one);
  std::vector<std::string> got = Dump(batch);
  ASSERT_EQ(expected.size(), 229u);
  EXPECT_EQ(got, expected);
  // Spot checks of the values themselves.
  auto rows = [&](uint32_t user, uint32_t peer, int type) {
    return SessionRows(batch.base + user, (type == 1 ? batch.base : batch.gbase) + peer, type);
  };
  for (auto [user, peer] : {std::pair<uint32_t, uint32_t>{1, 121}, {121, 1}}) {
    std::vector<Row> r = rows(user, peer, 1);
    ASSERT_EQ(r.size(), 1u) << "one row per side, though the pair came four times";
    EXPECT_EQ(r[0][0], "0");
    EXPECT_EQ(r[0][1], "3100") << "the largest stored_at of the pair's records";
  }
  ASSERT_EQ(rows(70, 190, 1).size(), 1u);
  EXPECT_EQ(rows(70, 190, 1)[0][1], "1069");
  ASSERT_EQ(rows(190, 70, 1).size(), 1u);
  ASSERT_EQ(rows(1, 1, 1).size(), 1u);
  EXPECT_EQ(rows(1, 1, 1)[0][1], "1500");
  std::vector<Row> dup = rows(71, 191, 1);
  ASSERT_EQ(dup.size(), 2u);
  EXPECT_EQ(dup[0][1], "2000");
  EXPECT_EQ(dup[1][1], "2000");
  std::vector<Row> revived = rows(191, 71, 1);
  ASSERT_EQ(revived.size(), 1u);
  EXPECT_EQ(revived[0][0], "0") << "the removed side is shown again";
  EXPECT_EQ(revived[0][1], "9000000") << "updated never goes back";
  EXPECT_EQ(rows(110, 230, 1)[0][1], "2039");
  EXPECT_EQ(rows(6, 2, 2)[0][1], "4000");
  EXPECT_EQ(rows(7, 1, 2)[0][0], "0");
  EXPECT_EQ(rows(7, 1, 2)[0][1], "4005");
  for (uint32_t sender = 1; sender <= 5; ++sender) {
    std::vector<Row> own = rows(sender, 1, 2);
    ASSERT_EQ(own.size(), 1u) << sender;
    EXPECT_EQ(own[0][1], S(3999 + sender));
  }
  EXPECT_EQ(Counter("session_errors") + Counter("event_errors"), errors_before);
}

TEST_F(SessionBatchTest, ConcurrentBatchesSharingPairsCreateOneRowPerSideWithoutDeadlock) {
  // Eight batches at once, each with the same 40 new pairs (both directions, rotated
  // orders) and the same ten new group sessions: every batch needs the same locks.
  std::vector<std::string> payloads;
  for (uint32_t k = 0; k < 8; ++k) {
    std::vector<Stored> records;
    for (uint32_t j = 0; j < 40; ++j) {
      uint32_t i = (j + 5 * k) % 40;
      uint32_t a = 5001 + i;
      uint32_t b = 5101 + i;
      records.push_back(k % 2 == 0 ? Record(1, a, b, 6000 + k) : Record(1, b, a, 6000 + k));
      if (i < 10) {
        records.push_back(Record(2, 5001 + i, 92001, 6000 + k));
      }
    }
    payloads.push_back(plugins::events::EncodeBatch(records));
  }
  int64_t errors_before = Counter("session_errors");

  PublishConcurrently(payloads);

  for (uint32_t i = 0; i < 40; ++i) {
    for (auto [user, peer] :
         {std::pair<uint32_t, uint32_t>{5001 + i, 5101 + i}, {5101 + i, 5001 + i}}) {
      std::vector<Row> r = SessionRows(user, peer, 1);
      ASSERT_EQ(r.size(), 1u) << user << " -> " << peer;
      EXPECT_EQ(r[0][1], "6007") << user << " -> " << peer;
    }
  }
  EXPECT_EQ(db_->QueryValue("SELECT COUNT(*) FROM IMRecentSession WHERE peerId = 92001 AND "
                            "type = 2 AND updated = 6007"),
            "10");
  EXPECT_EQ(Counter("session_errors"), errors_before);
}

TEST_F(SessionBatchTest, MalformedPayloadsAreRejectedWholeAndCounted) {
  std::vector<Stored> two = {Record(1, 5301, 5302, 100), Record(1, 5303, 5304, 100)};
  std::string cut = plugins::events::EncodeBatch(two) + "12345";
  std::vector<Stored> three = {Record(1, 5301, 5302, 100), Record(1, 5305, 5306, 100),
                               Record(2, 5307, 93001, 100)};
  three[1].version = 2;
  int64_t before = Counter("event_errors");

  EXPECT_EQ(Publish(""), "1");
  EXPECT_EQ(Publish(cut), "1");
  EXPECT_EQ(Publish(plugins::events::EncodeBatch(three)), "1");

  EXPECT_EQ(Counter("event_errors"), before + 3);
  EXPECT_EQ(db_->QueryValue("SELECT COUNT(*) FROM IMRecentSession WHERE userId BETWEEN 5301 AND "
                            "5307 OR peerId BETWEEN 5301 AND 5307 OR peerId = 93001"),
            "0")
      << "nothing of a rejected payload is written";

  // Bad records inside a valid payload are skipped alone.
  std::vector<Stored> mixed = {Record(3, 5308, 5309, 100), Record(1, 5310, 5311, 100),
                               Record(1, 0, 5312, 100), Record(2, 5313, 93001, 100)};
  EXPECT_EQ(Publish(plugins::events::EncodeBatch(mixed)), "1");
  EXPECT_EQ(Counter("event_errors"), before + 5);
  EXPECT_EQ(SessionRows(5310, 5311, 1).size(), 1u);
  EXPECT_EQ(SessionRows(5311, 5310, 1).size(), 1u);
  EXPECT_EQ(SessionRows(5313, 93001, 2).size(), 1u);
  EXPECT_EQ(db_->QueryValue("SELECT COUNT(*) FROM IMRecentSession WHERE userId IN (5308, 5309, "
                            "5312) OR peerId IN (5308, 5309, 5312)"),
            "0");
}

TEST_F(SessionBatchTest, AMysqlFailureIsCountedPerRecordAndTheNextBatchWorks) {
  std::vector<Stored> records = {Record(1, 5401, 5402, 700), Record(1, 5403, 5404, 700),
                                 Record(2, 5405, 93002, 700), Record(1, 5402, 5401, 701),
                                 Record(2, 5406, 93002, 701)};
  int64_t before = Counter("session_errors");
  db_->Exec("RENAME TABLE IMRecentSession TO IMRecentSession_away");

  std::string answer = Publish(plugins::events::EncodeBatch(records));
  db_->Exec("RENAME TABLE IMRecentSession_away TO IMRecentSession");

  EXPECT_EQ(answer, "1");
  EXPECT_EQ(Counter("session_errors"), before + 5) << "every record of the failed batch";
  EXPECT_TRUE(SessionRows(5401, 5402, 1).empty());

  ASSERT_EQ(Publish(plugins::events::EncodeBatch(records)), "1");
  EXPECT_EQ(Counter("session_errors"), before + 5);
  ASSERT_EQ(SessionRows(5401, 5402, 1).size(), 1u);
  EXPECT_EQ(SessionRows(5401, 5402, 1)[0][1], "701");
  EXPECT_EQ(SessionRows(5404, 5403, 1).size(), 1u);
  EXPECT_EQ(SessionRows(5406, 93002, 2).size(), 1u);
}

TEST_F(SessionBatchTest, AHeldCreationLockFailsOnlyThatTypeAfterTheRowsThatExist) {
  // Another session holds the lock of the new pair 5501/5502 past the 5 s wait: the
  // batch's existing single rows are already shown, its new single rows are not created
  // (both single records counted), its group record is written regardless.
  AddSession(5503, 5504, 1, 1, 10);
  AddSession(5504, 5503, 1, 0, 10);
  ASSERT_EQ(db_->QueryValue("SELECT GET_LOCK('dbproxy.sess.5501.5502@" + db_->name() + "', 0)"),
            "1");
  std::vector<Stored> records = {Record(1, 5501, 5502, 800), Record(1, 5503, 5504, 800),
                                 Record(2, 5505, 93003, 800)};
  int64_t before = Counter("session_errors");

  std::string answer = Publish(plugins::events::EncodeBatch(records));
  db_->QueryValue("SELECT RELEASE_LOCK('dbproxy.sess.5501.5502@" + db_->name() + "')");

  EXPECT_EQ(answer, "1");
  EXPECT_EQ(Counter("session_errors"), before + 2);
  EXPECT_TRUE(SessionRows(5501, 5502, 1).empty());
  EXPECT_EQ(SessionRows(5503, 5504, 1)[0][0], "0");
  EXPECT_EQ(SessionRows(5503, 5504, 1)[0][1], "800");
  EXPECT_EQ(SessionRows(5505, 93003, 2).size(), 1u);

  ASSERT_EQ(Publish(plugins::events::EncodeBatch(records)), "1");
  EXPECT_EQ(Counter("session_errors"), before + 2);
  EXPECT_EQ(SessionRows(5501, 5502, 1).size(), 1u);
  EXPECT_EQ(SessionRows(5502, 5501, 1).size(), 1u);
}

}  // namespace
}  // namespace dbproxy::testing
