// The message module over the wire: a real dbproxyd with the message module (and, for the
// group cases, group_member), real MariaDB and Redis, state checked directly in the tables
// and keys an original db_proxy_server would read.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/http_get.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_database.h"
#include "tests/support/test_env.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

using Frame = WireClient::Frame;
using IM::BaseDefine::MsgType;
using IM::Message::IMGetLatestMsgIdReq;
using IM::Message::IMGetLatestMsgIdRsp;
using IM::Message::IMGetMsgByIdReq;
using IM::Message::IMGetMsgByIdRsp;
using IM::Message::IMGetMsgListReq;
using IM::Message::IMGetMsgListRsp;
using IM::Message::IMMsgData;
using Clock = std::chrono::steady_clock;

constexpr uint16_t kSidMsg = 3;
constexpr uint16_t kMsgData = 0x0301;
constexpr uint16_t kListReq = 0x0309;
constexpr uint16_t kListRsp = 0x030a;
constexpr uint16_t kLatestReq = 0x030b;
constexpr uint16_t kLatestRsp = 0x030c;
constexpr uint16_t kByIdReq = 0x030d;
constexpr uint16_t kByIdRsp = 0x030e;

constexpr uint32_t kMaxMsgCnt = 10;  // the suite daemon's caps (defaults are 100)
constexpr uint32_t kMaxMsgIds = 5;
constexpr uint32_t kCreateTime = 1700000100;
constexpr int kCallTimeoutMs = 10000;

constexpr MsgType kText = IM::BaseDefine::MSG_TYPE_SINGLE_TEXT;
constexpr MsgType kAudio = IM::BaseDefine::MSG_TYPE_SINGLE_AUDIO;
constexpr MsgType kGroupText = IM::BaseDefine::MSG_TYPE_GROUP_TEXT;

// CDbAttachData(type 1, handle 42, service 0), as msg_server sends it.
const std::string& Attach() {
  static const std::string attach("\0\0\0\x01\0\0\0\x2a\0\0\0\0", 12);
  return attach;
}

std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// One database, one Redis block and one dbproxyd (message only) for the whole binary,
// created before the first test and stopped and dropped after the last.
struct Shared {
  std::unique_ptr<TestDatabase> db;
  std::unique_ptr<TestRedis> redis;
  std::unique_ptr<DaemonProcess> daemon;
};
Shared* shared = nullptr;

class SharedEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    shared = new Shared;
    shared->db = TestDatabase::Create();
    shared->redis = TestRedis::Create();
    shared->daemon = std::make_unique<DaemonProcess>();
    DaemonOptions options;
    options.plugins = {"message"};
    options.extra_yaml_modules = "message:\n  max_msg_cnt: " + std::to_string(kMaxMsgCnt) +
                                 "\n  max_msg_ids: " + std::to_string(kMaxMsgIds) + "\n";
    if (!shared->daemon->Start(*shared->db, *shared->redis, options)) {
      shared->daemon.reset();
    }
  }
  void TearDown() override {
    delete shared;
    shared = nullptr;
  }
};
[[maybe_unused]] ::testing::Environment* const kSharedEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedEnvironment);

// Users 300..999 are handed out two at a time, so every test has pairs nobody else used.
uint32_t next_user = 300;

class MessageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(shared->daemon, nullptr) << "dbproxyd did not start";
    ASSERT_TRUE(client_.Connect(shared->daemon->port()));
  }

  static TestDatabase& db() { return *shared->db; }
  static TestRedis& redis() { return *shared->redis; }
  static int unread_db() { return shared->redis->db("unread"); }

  static std::pair<uint32_t, uint32_t> NewPair() {
    const uint32_t a = next_user++;
    const uint32_t b = next_user++;
    return {a, b};
  }

  static IMMsgData Msg(uint32_t from, uint32_t to, std::string data, MsgType type = kText,
                       uint32_t create_time = kCreateTime) {
    IMMsgData m;
    m.set_from_user_id(from);
    m.set_to_session_id(to);
    m.set_msg_id(0);
    m.set_create_time(create_time);
    m.set_msg_type(type);
    m.set_msg_data(std::move(data));
    m.set_attach_data(Attach());
    return m;
  }

  // Sends a CID_MSG_DATA body and returns the parsed echo; a failure of the test if there
  // is no answer or it is not an IMMsgData with the right header.
  static std::optional<IMMsgData> SendBody(WireClient& client, const std::string& body,
                                           Frame* frame_out = nullptr) {
    std::optional<Frame> frame = client.Call(kSidMsg, kMsgData, body, kCallTimeoutMs);
    if (!frame) {
      ADD_FAILURE() << "no answer to CID_MSG_DATA";
      return std::nullopt;
    }
    EXPECT_EQ(frame->service_id, kSidMsg);
    EXPECT_EQ(frame->command_id, kMsgData);
    EXPECT_EQ(frame->seq, client.last_seq());
    IMMsgData echo;
    if (!echo.ParseFromString(frame->body)) {
      ADD_FAILURE() << "the answer is not a complete IMMsgData";
      return std::nullopt;
    }
    if (frame_out != nullptr) {
      *frame_out = *frame;
    }
    return echo;
  }

  // The msg_id the daemon answers for m; UINT32_MAX when the test already failed.
  static uint32_t Send(WireClient& client, const IMMsgData& m) {
    std::optional<IMMsgData> echo = SendBody(client, m.SerializeAsString());
    return echo ? echo->msg_id() : UINT32_MAX;
  }
  uint32_t Send(const IMMsgData& m) { return Send(client_, m); }

  static uint32_t RelationId(uint32_t a, uint32_t b) {
    std::optional<std::string> id = db().QueryValue(
        "SELECT id FROM IMRelationShip WHERE smallId = " + std::to_string(std::min(a, b)) +
        " AND bigId = " + std::to_string(std::max(a, b)) + " ORDER BY id LIMIT 1");
    return id ? static_cast<uint32_t>(std::stoul(*id)) : 0;
  }

  static std::string Count(const std::string& sql) { return db().QueryValue(sql).value_or("?"); }

  static std::string RelationCount(uint32_t a, uint32_t b) {
    return Count("SELECT COUNT(*) FROM IMRelationShip WHERE smallId = " +
                 std::to_string(std::min(a, b)) + " AND bigId = " + std::to_string(std::max(a, b)));
  }

  static std::string MessageTable(uint32_t relate_id) {
    return "IMMessage_" + std::to_string(relate_id % 8);
  }

  // The msgIds stored for a relation, in msgId order.
  static std::vector<uint32_t> StoredIds(uint32_t relate_id) {
    std::vector<uint32_t> ids;
    for (const TestDatabase::Row& row :
         db().Query("SELECT msgId FROM " + MessageTable(relate_id) +
                    " WHERE relateId = " + std::to_string(relate_id) + " ORDER BY msgId")) {
      ids.push_back(static_cast<uint32_t>(std::stoul(row[0].value_or("0"))));
    }
    return ids;
  }

  static RedisReply RedisGet(const std::string& key) {
    return redis().Command(unread_db(), "GET", key);
  }

  static std::vector<uint32_t> OneTo(uint32_t n) {
    std::vector<uint32_t> ids(n);
    std::iota(ids.begin(), ids.end(), 1u);
    return ids;
  }

  // 0x0309 and friends; fail the test on a missing or malformed answer.
  IMGetMsgListRsp List(uint32_t user, uint32_t session_type, uint32_t session, uint32_t begin,
                       uint32_t count) {
    IMGetMsgListReq req;
    req.set_user_id(user);
    req.set_session_type(static_cast<IM::BaseDefine::SessionType>(session_type));
    req.set_session_id(session);
    req.set_msg_id_begin(begin);
    req.set_msg_cnt(count);
    req.set_attach_data(Attach());
    IMGetMsgListRsp rsp;
    Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidMsg, kListReq, req, &rsp, kCallTimeoutMs, &frame));
    EXPECT_EQ(frame.command_id, kListRsp);
    EXPECT_EQ(frame.service_id, kSidMsg);
    EXPECT_EQ(rsp.attach_data(), Attach());
    return rsp;
  }

  IMGetMsgByIdRsp ById(uint32_t user, uint32_t session_type, uint32_t session,
                       const std::vector<uint32_t>& ids) {
    IMGetMsgByIdReq req;
    req.set_user_id(user);
    req.set_session_type(static_cast<IM::BaseDefine::SessionType>(session_type));
    req.set_session_id(session);
    for (uint32_t id : ids) {
      req.add_msg_id_list(id);
    }
    req.set_attach_data(Attach());
    IMGetMsgByIdRsp rsp;
    Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidMsg, kByIdReq, req, &rsp, kCallTimeoutMs, &frame));
    EXPECT_EQ(frame.command_id, kByIdRsp);
    EXPECT_EQ(frame.service_id, kSidMsg);
    EXPECT_EQ(rsp.user_id(), user);
    EXPECT_EQ(rsp.session_id(), session);
    EXPECT_EQ(rsp.attach_data(), Attach());
    return rsp;
  }

  uint32_t Latest(uint32_t user, uint32_t session_type, uint32_t session) {
    IMGetLatestMsgIdReq req;
    req.set_user_id(user);
    req.set_session_type(static_cast<IM::BaseDefine::SessionType>(session_type));
    req.set_session_id(session);
    req.set_attach_data(Attach());
    IMGetLatestMsgIdRsp rsp;
    Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidMsg, kLatestReq, req, &rsp, kCallTimeoutMs, &frame));
    EXPECT_EQ(frame.command_id, kLatestRsp);
    EXPECT_EQ(frame.service_id, kSidMsg);
    EXPECT_EQ(rsp.user_id(), user);
    EXPECT_EQ(static_cast<uint32_t>(rsp.session_type()), session_type);
    EXPECT_EQ(rsp.session_id(), session);
    EXPECT_EQ(rsp.attach_data(), Attach());
    return rsp.latest_msg_id();
  }

  template <typename List>
  static std::vector<uint32_t> IdsOf(const List& list) {
    std::vector<uint32_t> ids;
    for (const auto& info : list) {
      ids.push_back(info.msg_id());
    }
    return ids;
  }

  // Sends every body on its own connection at once, then collects the answers' msg_ids.
  static std::vector<uint32_t> SendAllAtOnce(uint16_t port, const std::vector<IMMsgData>& msgs) {
    std::vector<WireClient> clients(msgs.size());
    for (size_t i = 0; i < msgs.size(); ++i) {
      EXPECT_TRUE(clients[i].Connect(port)) << clients[i].last_error();
    }
    for (size_t i = 0; i < msgs.size(); ++i) {
      EXPECT_TRUE(clients[i].SendFrame(kSidMsg, kMsgData, static_cast<uint16_t>(i + 1),
                                       msgs[i].SerializeAsString()));
    }
    std::vector<uint32_t> ids;
    for (size_t i = 0; i < msgs.size(); ++i) {
      std::optional<Frame> frame = clients[i].ReadFrame(kCallTimeoutMs, true);
      IMMsgData echo;
      if (!frame || !echo.ParseFromString(frame->body)) {
        ADD_FAILURE() << "sender " << i << " got no IMMsgData answer";
        ids.push_back(UINT32_MAX);
        continue;
      }
      EXPECT_EQ(frame->seq, static_cast<uint16_t>(i + 1));
      ids.push_back(echo.msg_id());
    }
    return ids;
  }

  WireClient client_;
};

// ---- CID_MSG_DATA, single chat

TEST_F(MessageTest, SendEchoesTheRequestWithItsIdAndStoresRowRelationAndCounter) {
  auto [a, b] = NewPair();
  IMMsgData m = Msg(a, b, "hello");
  Frame frame;
  std::optional<IMMsgData> echo = SendBody(client_, m.SerializeAsString(), &frame);
  ASSERT_TRUE(echo);

  IMMsgData expected = m;
  expected.set_msg_id(1);
  EXPECT_EQ(frame.body, expected.SerializeAsString());  // the request, byte for byte
  EXPECT_EQ(echo->from_user_id(), a);
  EXPECT_EQ(echo->to_session_id(), b);
  EXPECT_EQ(echo->msg_id(), 1u);
  EXPECT_EQ(echo->create_time(), kCreateTime);
  EXPECT_EQ(echo->msg_type(), kText);
  EXPECT_EQ(echo->msg_data(), "hello");
  EXPECT_EQ(echo->attach_data(), Attach());

  const uint32_t rid = RelationId(a, b);
  ASSERT_NE(rid, 0u);
  std::vector<TestDatabase::Row> relation = db().Query(
      "SELECT smallId, bigId, status, created > 0, created = updated FROM IMRelationShip "
      "WHERE id = " +
      std::to_string(rid));
  std::vector<TestDatabase::Row> expected_relation = {
      {std::to_string(a), std::to_string(b), "0", "1", "1"}};
  EXPECT_EQ(relation, expected_relation);
  EXPECT_EQ(RelationCount(a, b), "1");

  std::vector<TestDatabase::Row> rows = db().Query(
      "SELECT relateId, fromId, toId, msgId, content, type, status, created, updated "
      "FROM " +
      MessageTable(rid) + " WHERE relateId = " + std::to_string(rid));
  std::vector<TestDatabase::Row> expected_rows = {
      {std::to_string(rid), std::to_string(a), std::to_string(b), "1", "hello", "1", "0",
       std::to_string(kCreateTime), std::to_string(kCreateTime)}};
  EXPECT_EQ(rows, expected_rows);
  EXPECT_EQ(RedisGet("msg_id_" + std::to_string(rid)).str, "1");
}

TEST_F(MessageTest, SuccessiveSendsInBothDirectionsGetIdsOneTwoThree) {
  auto [a, b] = NewPair();
  EXPECT_EQ(Send(Msg(a, b, "one")), 1u);
  EXPECT_EQ(Send(Msg(b, a, "two")), 2u);
  EXPECT_EQ(Send(Msg(a, b, "three")), 3u);

  const uint32_t rid = RelationId(a, b);
  EXPECT_EQ(RelationCount(a, b), "1");
  EXPECT_EQ(StoredIds(rid), OneTo(3));
  EXPECT_EQ(RedisGet("msg_id_" + std::to_string(rid)).str, "3");
  EXPECT_EQ(db().QueryValue("SELECT CONCAT(fromId, '>', toId) FROM " + MessageTable(rid) +
                            " WHERE relateId = " + std::to_string(rid) + " AND msgId = 2"),
            std::to_string(b) + ">" + std::to_string(a));
}

TEST_F(MessageTest, EchoHasNoAttachDataWhenTheRequestHadNone) {
  auto [a, b] = NewPair();
  IMMsgData m = Msg(a, b, "no attach");
  m.clear_attach_data();
  Frame frame;
  std::optional<IMMsgData> echo = SendBody(client_, m.SerializeAsString(), &frame);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->msg_id(), 1u);
  EXPECT_FALSE(echo->has_attach_data());
  m.set_msg_id(1);
  EXPECT_EQ(frame.body, m.SerializeAsString());
}

TEST_F(MessageTest, SqlMetacharactersNulBytesAndFourByteUtf8RoundTripVerbatim) {
  auto [a, b] = NewPair();
  static const char kRaw[] =
      "it's \"quoted\" \\back\\slash 100% _x_ '; DROP TABLE IMUser; -- \0nul\0 "
      "\xF0\x9F\x98\x80 \xE4\xBD\xA0\xE5\xA5\xBD end";
  const std::string content(kRaw, sizeof(kRaw) - 1);  // NULs included
  ASSERT_EQ(Send(Msg(a, b, content)), 1u);

  const uint32_t rid = RelationId(a, b);
  EXPECT_EQ(db().QueryValue("SELECT HEX(content) FROM " + MessageTable(rid) +
                            " WHERE relateId = " + std::to_string(rid)),
            Hex(content));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM IMUser"), "1000");

  IMGetMsgListRsp list = List(b, 1, a, 0, 10);
  ASSERT_EQ(list.msg_list_size(), 1);
  EXPECT_EQ(list.msg_list(0).msg_data(), content);

  IMGetMsgByIdRsp by_id = ById(a, 1, b, {1});
  ASSERT_EQ(by_id.msg_list_size(), 1);
  EXPECT_EQ(by_id.msg_list(0).msg_data(), content);
}

TEST_F(MessageTest, FiftyConcurrentSendersOnOneNewPairGetIdsOneToFifty) {
  auto [a, b] = NewPair();
  std::vector<IMMsgData> msgs;
  for (int i = 0; i < 50; ++i) {
    msgs.push_back(i % 2 == 0 ? Msg(a, b, "m" + std::to_string(i))
                              : Msg(b, a, "m" + std::to_string(i)));
  }
  std::vector<uint32_t> ids = SendAllAtOnce(shared->daemon->port(), msgs);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, OneTo(50));

  EXPECT_EQ(RelationCount(a, b), "1");
  const uint32_t rid = RelationId(a, b);
  EXPECT_EQ(StoredIds(rid), OneTo(50));
  EXPECT_EQ(RedisGet("msg_id_" + std::to_string(rid)).str, "50");
}

TEST_F(MessageTest, TwentyNewPairsCreatedConcurrentlyGetOneRelationAndIdsEach) {
  constexpr int kPairs = 20;
  constexpr uint32_t kPerPair = 3;
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  std::vector<IMMsgData> msgs;
  for (int p = 0; p < kPairs; ++p) {
    pairs.push_back(NewPair());
  }
  for (uint32_t k = 0; k < kPerPair; ++k) {
    for (auto [a, b] : pairs) {
      msgs.push_back(Msg(k % 2 == 0 ? a : b, k % 2 == 0 ? b : a, "k" + std::to_string(k)));
    }
  }
  std::vector<uint32_t> ids = SendAllAtOnce(shared->daemon->port(), msgs);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 0u), 0);

  std::set<uint32_t> relations;
  for (auto [a, b] : pairs) {
    EXPECT_EQ(RelationCount(a, b), "1") << a << "-" << b;
    const uint32_t rid = RelationId(a, b);
    relations.insert(rid);
    EXPECT_EQ(StoredIds(rid), OneTo(kPerPair)) << a << "-" << b;
  }
  EXPECT_EQ(relations.size(), static_cast<size_t>(kPairs));
}

TEST_F(MessageTest, TwoDaemonsOnTheSameDataCreateOneRelationForANewPair) {
  DaemonProcess second;
  DaemonOptions options;
  options.plugins = {"message"};
  ASSERT_TRUE(second.Start(db(), redis(), options));

  // Both daemons see a pair for the first time at the same moment: only the database (row
  // lock, named lock) can keep them from creating two relations. Several rounds, since a
  // broken lock shows only when the two first messages really overlap.
  for (int round = 0; round < 5; ++round) {
    auto [a, b] = NewPair();
    std::vector<IMMsgData> msgs;
    for (int i = 0; i < 20; ++i) {
      msgs.push_back(Msg(i % 2 == 0 ? a : b, i % 2 == 0 ? b : a, "x"));
    }
    std::vector<uint32_t> ids;
    std::thread other([&, msgs] { ids = SendAllAtOnce(second.port(), msgs); });
    std::vector<uint32_t> mine = SendAllAtOnce(shared->daemon->port(), msgs);
    other.join();
    ids.insert(ids.end(), mine.begin(), mine.end());
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, OneTo(40)) << "round " << round;
    EXPECT_EQ(RelationCount(a, b), "1") << "round " << round;
    EXPECT_EQ(StoredIds(RelationId(a, b)), OneTo(40)) << "round " << round;
  }
}

TEST_F(MessageTest, DeletedRedisCounterContinuesAfterTheHighestStoredId) {
  auto [a, b] = NewPair();
  for (uint32_t i = 1; i <= 3; ++i) {
    ASSERT_EQ(Send(Msg(a, b, "before")), i);
  }
  const std::string key = "msg_id_" + std::to_string(RelationId(a, b));
  EXPECT_EQ(redis().Command(unread_db(), "DEL", key).integer, 1);

  EXPECT_EQ(Send(Msg(b, a, "after")), 4u);
  EXPECT_EQ(RedisGet(key).str, "4");
  EXPECT_EQ(StoredIds(RelationId(a, b)), OneTo(4));
}

TEST_F(MessageTest, FlushedUnreadDatabaseContinuesAfterTheHighestStoredId) {
  auto [a, b] = NewPair();
  for (uint32_t i = 1; i <= 3; ++i) {
    ASSERT_EQ(Send(Msg(a, b, "before")), i);
  }
  redis().FlushDb(unread_db());

  EXPECT_EQ(Send(Msg(a, b, "after")), 4u);
  EXPECT_EQ(RedisGet("msg_id_" + std::to_string(RelationId(a, b))).str, "4");
}

TEST_F(MessageTest, CounterRaisedByAnOriginalServerIsContinued) {
  auto [a, b] = NewPair();
  ASSERT_EQ(Send(Msg(a, b, "first")), 1u);
  const std::string key = "msg_id_" + std::to_string(RelationId(a, b));
  ASSERT_EQ(redis().Command(unread_db(), "SET", key, 10).str, "OK");

  EXPECT_EQ(Send(Msg(a, b, "after the old server")), 11u);
  EXPECT_EQ(RedisGet(key).str, "11");
  EXPECT_EQ(StoredIds(RelationId(a, b)), (std::vector<uint32_t>{1, 11}));
}

TEST_F(MessageTest, CounterResetToZeroNeitherRestartsIdsNorIsLowered) {
  auto [a, b] = NewPair();
  ASSERT_EQ(Send(Msg(a, b, "1")), 1u);
  ASSERT_EQ(Send(Msg(a, b, "2")), 2u);
  const std::string key = "msg_id_" + std::to_string(RelationId(a, b));
  ASSERT_EQ(redis().Command(unread_db(), "SET", key, 0).str, "OK");  // what W8 does

  EXPECT_EQ(Send(Msg(a, b, "3")), 3u);
  EXPECT_EQ(RedisGet(key).str, "3");
}

TEST_F(MessageTest, RevivesADeletedRelationInsteadOfCreatingAnother) {
  auto [a, b] = NewPair();
  ASSERT_EQ(Send(Msg(a, b, "1")), 1u);
  const uint32_t rid = RelationId(a, b);
  db().Exec("UPDATE IMRelationShip SET status = 1 WHERE id = " + std::to_string(rid));

  EXPECT_EQ(Send(Msg(b, a, "2")), 2u);
  EXPECT_EQ(RelationCount(a, b), "1");
  EXPECT_EQ(Count("SELECT status FROM IMRelationShip WHERE id = " + std::to_string(rid)), "0");
}

TEST_F(MessageTest, IdsContinueAfterDeletedAndForeignStatusRowsWithoutTheCounter) {
  // Rows any status may hold the highest msgId: deleted ones (1), and values neither
  // TeamTalk nor dbproxy writes (7 here). With the Redis counter gone, only MySQL knows.
  auto [a, b] = NewPair();
  ASSERT_EQ(Send(Msg(a, b, "1")), 1u);
  const uint32_t rid = RelationId(a, b);
  const std::string insert = "INSERT INTO " + MessageTable(rid) +
                             " (relateId, fromId, toId, msgId, content, type, status, created, "
                             "updated) VALUES (" +
                             std::to_string(rid) + ", " + std::to_string(a) + ", " +
                             std::to_string(b) + ", ";
  db().Exec(insert + "40, 'deleted', 1, 1, 1, 1)");
  redis().Command(unread_db(), "DEL", "msg_id_" + std::to_string(rid));
  EXPECT_EQ(Send(Msg(a, b, "after a deleted row")), 41u);

  db().Exec(insert + "90, 'foreign', 1, 7, 1, 1)");
  redis().Command(unread_db(), "DEL", "msg_id_" + std::to_string(rid));
  EXPECT_EQ(Send(Msg(b, a, "after a foreign status")), 91u);
  EXPECT_EQ(Send(Msg(a, b, "and on")), 92u);
}

// ---- CID_MSG_DATA failures: always an answer, msg_id 0, nothing stored

class MessageRejectTest : public MessageTest {
 protected:
  // Sends body and expects a complete IMMsgData answer with msg_id 0.
  std::optional<IMMsgData> ExpectZero(const std::string& body) {
    std::optional<IMMsgData> echo = SendBody(client_, body);
    if (echo) {
      EXPECT_EQ(echo->msg_id(), 0u);
    }
    return echo;
  }
  void ExpectNothingStoredFor(uint32_t a, uint32_t b) {
    EXPECT_EQ(RelationCount(a, b), "0");
    std::string sum = "SELECT 0";
    for (int shard = 0; shard < 8; ++shard) {
      sum += " + (SELECT COUNT(*) FROM IMMessage_" + std::to_string(shard) + " WHERE fromId IN (" +
             std::to_string(a) + ", " + std::to_string(b) + "))";
    }
    EXPECT_EQ(Count(sum), "0");
  }
};

TEST_F(MessageRejectTest, MessageToOneselfIsAnsweredWithZero) {
  auto [a, b] = NewPair();
  std::optional<IMMsgData> echo = ExpectZero(Msg(a, a, "me").SerializeAsString());
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->from_user_id(), a);
  EXPECT_EQ(echo->attach_data(), Attach());
  ExpectNothingStoredFor(a, a);
  (void)b;
}

TEST_F(MessageRejectTest, ZeroIdsAndEmptyDataAreAnsweredWithZero) {
  auto [a, b] = NewPair();
  ExpectZero(Msg(0, b, "x").SerializeAsString());
  ExpectZero(Msg(a, 0, "x").SerializeAsString());
  ExpectZero(Msg(a, b, "").SerializeAsString());
  ExpectNothingStoredFor(a, b);
  EXPECT_EQ(RelationCount(0, b), "0");
}

TEST_F(MessageRejectTest, DataLongerThanMaxMsgBytesIsRefusedAndTheLimitItselfStored) {
  auto [a, b] = NewPair();
  ExpectZero(Msg(a, b, std::string(4097, 'x')).SerializeAsString());
  ExpectNothingStoredFor(a, b);
  EXPECT_EQ(Send(Msg(a, b, std::string(4096, 'y'))), 1u);
}

TEST_F(MessageRejectTest, MsgTypeOutsideTheEnumIsAnsweredWithZeroAndTheFieldsRead) {
  auto [a, b] = NewPair();
  IMMsgData m = Msg(a, b, "typed");
  m.clear_msg_type();
  // msg_type 7: the parser keeps it as an unknown field, so the required field is missing.
  std::string body = m.SerializePartialAsString() + std::string("\x28\x07", 2);
  std::optional<IMMsgData> echo = ExpectZero(body);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->from_user_id(), a);
  EXPECT_EQ(echo->to_session_id(), b);
  EXPECT_EQ(echo->msg_data(), "typed");
  EXPECT_EQ(echo->attach_data(), Attach());
  ExpectNothingStoredFor(a, b);
}

TEST_F(MessageRejectTest, GarbageAndEmptyBodiesAreAnsweredWithZero) {
  std::optional<IMMsgData> echo = ExpectZero(std::string("\xff\xff\xff\xff\x0f", 5));
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->from_user_id(), 0u);
  ExpectZero("");
  // Required fields missing but otherwise well-formed.
  IMMsgData partial;
  partial.set_from_user_id(5);
  echo = ExpectZero(partial.SerializePartialAsString());
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->from_user_id(), 5u);
}

TEST_F(MessageRejectTest, AudioWithoutTheAudioModuleIsAnsweredWithZero) {
  auto [a, b] = NewPair();
  ExpectZero(Msg(a, b,
                 std::string("\0\0\0\x03"
                             "audio-bytes",
                             15),
                 kAudio)
                 .SerializeAsString());
  ExpectNothingStoredFor(a, b);
}

// ---- MySQL going away

class MessageOutageTest : public MessageTest {
 protected:
  void SetUp() override { ASSERT_NE(shared, nullptr); }
};

TEST_F(MessageOutageTest, SendsAnswerZeroWhileMysqlIsCutAndContinueWithoutAGapAfter) {
  TestDatabase* db = shared->db.get();
  TestRedis* redis = shared->redis.get();
  std::unique_ptr<TcpProxy> proxy = TcpProxy::Start(db->env().mysql_host, db->env().mysql_port);
  DaemonOptions options;
  options.plugins = {"message"};
  options.mysql_overrides["teamtalk_master"] = {
      proxy->port(),
      "connect_timeout_ms: 1000\nread_timeout_ms: 1000\nwrite_timeout_ms: 1000\n"
      "acquire_timeout_ms: 1000\n"};
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(*db, *redis, options));
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon.port()));
  const int unread = redis->db("unread");

  auto send_one = [&](uint32_t from, uint32_t to) -> uint32_t {
    IMMsgData m;
    m.set_from_user_id(from);
    m.set_to_session_id(to);
    m.set_msg_id(0);
    m.set_create_time(kCreateTime);
    m.set_msg_type(kText);
    m.set_msg_data("during the outage test");
    IMMsgData echo;
    EXPECT_TRUE(client.CallMessage(kSidMsg, kMsgData, m, &echo, kCallTimeoutMs));
    return echo.msg_id();
  };
  auto [a, b] = NewPair();
  auto [c, d] = NewPair();
  ASSERT_EQ(send_one(a, b), 1u);
  ASSERT_EQ(send_one(b, a), 2u);
  const std::string rid = std::to_string(RelationId(a, b));
  const std::string table = "IMMessage_" + std::to_string(std::stoul(rid) % 8);
  ASSERT_GT(proxy->accepted(), 0u);

  proxy->Cut();
  // The answer arrives within the call timeout: nothing waits for MySQL indefinitely.
  EXPECT_EQ(send_one(a, b), 0u);
  EXPECT_EQ(send_one(c, d), 0u);  // a new pair: the relation cannot be created either
  EXPECT_EQ(db->QueryValue("SELECT COUNT(*) FROM " + table + " WHERE relateId = " + rid), "2");
  EXPECT_EQ(RelationCount(c, d), "0");
  EXPECT_EQ(redis->Command(unread, "GET", "msg_id_" + rid).str, "2");

  ASSERT_TRUE(proxy->Restore());
  // The pool reconnects on its own; retry until the first send succeeds.
  uint32_t id = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (id == 0 && Clock::now() < deadline) {
    id = send_one(a, b);
    if (id == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // poll interval
    }
  }
  EXPECT_EQ(id, 3u);  // no gap: the failed attempts consumed nothing
  EXPECT_EQ(db->QueryValue("SELECT GROUP_CONCAT(msgId ORDER BY msgId) FROM " + table +
                           " WHERE relateId = " + rid),
            "1,2,3");
  EXPECT_EQ(redis->Command(unread, "GET", "msg_id_" + rid).str, "3");
  EXPECT_EQ(send_one(d, c), 1u);
}

TEST_F(MessageOutageTest, SendsKeepNumberingFromMysqlWhileTheRedisCounterIsUnreachable) {
  TestDatabase* db = shared->db.get();
  TestRedis* redis = shared->redis.get();
  std::unique_ptr<TcpProxy> proxy =
      TcpProxy::Start(redis->env().redis_host, redis->env().redis_port);
  DaemonOptions options;
  options.plugins = {"message"};
  options.redis_ports["unread"] = proxy->port();
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(*db, *redis, options));
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon.port()));
  auto [a, b] = NewPair();
  ASSERT_EQ(Send(client, Msg(a, b, "1")), 1u);
  ASSERT_EQ(Send(client, Msg(a, b, "2")), 2u);
  const std::string key = "msg_id_" + std::to_string(RelationId(a, b));
  ASSERT_EQ(RedisGet(key).str, "2");

  proxy->Cut();
  // The original stored msgId 4294967295 here (W6); MySQL alone now decides.
  EXPECT_EQ(Send(client, Msg(b, a, "3")), 3u);
  EXPECT_EQ(Send(client, Msg(a, b, "4")), 4u);
  EXPECT_EQ(StoredIds(RelationId(a, b)), OneTo(4));
  EXPECT_EQ(RedisGet(key).str, "2");

  ASSERT_TRUE(proxy->Restore());
  // Ids keep following MySQL while the pool reconnects; once it has, the counter catches up.
  uint32_t last = 4;
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (RedisGet(key).str != std::to_string(last) && Clock::now() < deadline) {
    EXPECT_EQ(Send(client, Msg(a, b, "after")), last + 1);
    ++last;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // poll interval
  }
  EXPECT_EQ(RedisGet(key).str, std::to_string(last));
  EXPECT_EQ(StoredIds(RelationId(a, b)), OneTo(last));
}

// ---- Reads: 0x0309, 0x030d, 0x030b (single)

class MessageReadTest : public MessageTest {
 protected:
  // A pair with messages 1..n; message i has create_time kCreateTime + i and data "msg<i>".
  std::pair<uint32_t, uint32_t> PairWithMessages(uint32_t n) {
    auto [a, b] = NewPair();
    for (uint32_t i = 1; i <= n; ++i) {
      EXPECT_EQ(Send(Msg(i % 2 == 1 ? a : b, i % 2 == 1 ? b : a, "msg" + std::to_string(i), kText,
                         kCreateTime + i)),
                i);
    }
    return {a, b};
  }
};

TEST_F(MessageReadTest, ListIsNewestFirstAndCappedByMaxMsgCnt) {
  auto [a, b] = PairWithMessages(25);
  IMGetMsgListRsp rsp = List(a, 1, b, 0, 100);
  EXPECT_EQ(rsp.user_id(), a);
  EXPECT_EQ(rsp.session_type(), IM::BaseDefine::SESSION_TYPE_SINGLE);
  EXPECT_EQ(rsp.session_id(), b);
  EXPECT_EQ(rsp.msg_id_begin(), 0u);
  ASSERT_EQ(rsp.msg_list_size(), static_cast<int>(kMaxMsgCnt));
  for (int i = 0; i < rsp.msg_list_size(); ++i) {
    const auto& info = rsp.msg_list(i);
    const uint32_t id = 25 - static_cast<uint32_t>(i);
    EXPECT_EQ(info.msg_id(), id);
    EXPECT_EQ(info.from_session_id(), id % 2 == 1 ? a : b);
    EXPECT_EQ(info.create_time(), kCreateTime + id);
    EXPECT_EQ(info.msg_type(), kText);
    EXPECT_EQ(info.msg_data(), "msg" + std::to_string(id));
  }
}

TEST_F(MessageReadTest, ListPagesFromMsgIdBegin) {
  auto [a, b] = PairWithMessages(15);
  IMGetMsgListRsp rsp = List(b, 1, a, 12, 3);
  EXPECT_EQ(rsp.msg_id_begin(), 12u);
  EXPECT_EQ(IdsOf(rsp.msg_list()), (std::vector<uint32_t>{12, 11, 10}));
  rsp = List(b, 1, a, 2, 5);
  EXPECT_EQ(IdsOf(rsp.msg_list()), (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(List(b, 1, a, 0, 0).msg_list_size(), 0);
}

TEST_F(MessageReadTest, ListOfAnUnknownRelationIsEmptyAndCreatesNothing) {
  auto [a, b] = NewPair();
  EXPECT_EQ(List(a, 1, b, 0, 10).msg_list_size(), 0);
  EXPECT_EQ(RelationCount(a, b), "0");
}

TEST_F(MessageReadTest, ListSkipsInvalidTypesReadsNullContentAsEmptyAndKeepsAudioIds) {
  auto [a, b] = PairWithMessages(1);
  const uint32_t rid = RelationId(a, b);
  const std::string values =
      std::to_string(rid) + ", " + std::to_string(a) + ", " + std::to_string(b);
  db().Exec("INSERT INTO " + MessageTable(rid) +
            " (relateId, fromId, toId, msgId, content, type, status, created, updated) VALUES "
            "(" +
            values +
            ", 2, NULL, 1, 0, 5, 5), "
            "(" +
            values +
            ", 3, 'bad type', 9, 0, 5, 5), "
            "(" +
            values +
            ", 4, '77', 2, 0, 5, 5), "
            "(" +
            values + ", 5, 'deleted', 1, 1, 5, 5)");
  IMGetMsgListRsp rsp = List(a, 1, b, 0, 10);
  EXPECT_EQ(IdsOf(rsp.msg_list()), (std::vector<uint32_t>{4, 2, 1}));
  ASSERT_EQ(rsp.msg_list_size(), 3);
  EXPECT_EQ(rsp.msg_list(0).msg_data(), "77");  // audio id: no audio module to expand it
  EXPECT_EQ(rsp.msg_list(0).msg_type(), kAudio);
  EXPECT_EQ(rsp.msg_list(1).msg_data(), "");
  // The deleted row still counts for numbering: the next message is 6.
  EXPECT_EQ(Send(Msg(a, b, "next")), 6u);
}

TEST_F(MessageReadTest, ListAnswersUnparsableBodiesAndUnknownSessionTypesWithAnEmptyList) {
  std::optional<Frame> frame = client_.Call(kSidMsg, kListReq, std::string("\xff\x01", 2));
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->command_id, kListRsp);
  IMGetMsgListRsp rsp;
  ASSERT_TRUE(rsp.ParseFromString(frame->body));
  EXPECT_EQ(rsp.msg_list_size(), 0);
  EXPECT_TRUE(rsp.has_attach_data());

  auto [a, b] = PairWithMessages(1);
  IMGetMsgListReq req;
  req.set_user_id(a);
  req.set_session_id(b);
  req.set_msg_id_begin(0);
  req.set_msg_cnt(10);
  req.set_attach_data(Attach());
  std::string body = req.SerializePartialAsString() + std::string("\x10\x03", 2);  // type 3
  frame = client_.Call(kSidMsg, kListReq, body);
  ASSERT_TRUE(frame);
  ASSERT_TRUE(rsp.ParseFromString(frame->body));
  EXPECT_EQ(rsp.user_id(), a);
  EXPECT_EQ(rsp.session_id(), b);
  EXPECT_EQ(rsp.msg_list_size(), 0);
  EXPECT_EQ(rsp.attach_data(), Attach());
}

TEST_F(MessageReadTest, ListEchoesAnEmptyAttachDataWhenTheRequestHadNone) {
  IMGetMsgListReq req;
  req.set_user_id(1);
  req.set_session_type(IM::BaseDefine::SESSION_TYPE_SINGLE);
  req.set_session_id(2);
  req.set_msg_id_begin(0);
  req.set_msg_cnt(1);
  std::optional<Frame> frame = client_.Call(kSidMsg, kListReq, req.SerializeAsString());
  ASSERT_TRUE(frame);
  IMGetMsgListRsp rsp;
  ASSERT_TRUE(rsp.ParseFromString(frame->body));
  EXPECT_TRUE(rsp.has_attach_data());
  EXPECT_EQ(rsp.attach_data(), "");
}

TEST_F(MessageReadTest, ByIdReturnsTheAskedMessagesNewestFirstCappedByMaxMsgIds) {
  auto [a, b] = PairWithMessages(8);
  IMGetMsgByIdRsp rsp = ById(a, 1, b, {3, 1, 99, 3});
  EXPECT_EQ(rsp.session_type(), IM::BaseDefine::SESSION_TYPE_SINGLE);
  EXPECT_EQ(IdsOf(rsp.msg_list()), (std::vector<uint32_t>{3, 1}));
  ASSERT_EQ(rsp.msg_list_size(), 2);
  EXPECT_EQ(rsp.msg_list(0).msg_data(), "msg3");
  EXPECT_EQ(rsp.msg_list(0).from_session_id(), a);
  EXPECT_EQ(rsp.msg_list(0).create_time(), kCreateTime + 3);

  // Only the first kMaxMsgIds (5) distinct ids are looked up.
  rsp = ById(b, 1, a, {1, 2, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(IdsOf(rsp.msg_list()), (std::vector<uint32_t>{5, 4, 3, 2, 1}));

  EXPECT_EQ(ById(a, 1, b, {}).msg_list_size(), 0);
  auto [c, d] = NewPair();
  EXPECT_EQ(ById(c, 1, d, {1, 2}).msg_list_size(), 0);
  EXPECT_EQ(ById(c, 1, a, {1, 2}).msg_list_size(), 0);  // c is not part of a's relation
}

TEST_F(MessageReadTest, LatestMsgIdOfARelationAndOfNone) {
  auto [a, b] = PairWithMessages(4);
  EXPECT_EQ(Latest(a, 1, b), 4u);
  EXPECT_EQ(Latest(b, 1, a), 4u);
  auto [c, d] = NewPair();
  EXPECT_EQ(Latest(c, 1, d), 0u);
  EXPECT_EQ(RelationCount(c, d), "0");
}

// ---- Group chat (needs the group_member module for membership)

#ifdef DBPROXY_HAVE_GROUP_MEMBER
constexpr bool kHaveGroupMember = true;
#else
constexpr bool kHaveGroupMember = false;
#endif

class MessageGroupTest : public MessageTest {
 protected:
  static void SetUpTestSuite() {
    if (!kHaveGroupMember || shared == nullptr || group_daemon_ != nullptr) {
      return;
    }
    group_daemon_ = new DaemonProcess();
    DaemonOptions options;
    options.plugins = {"message", "group_member"};
    options.extra_yaml_modules = "message:\n  max_msg_cnt: " + std::to_string(kMaxMsgCnt) + "\n";
    if (!group_daemon_->Start(db(), redis(), options)) {
      delete group_daemon_;
      group_daemon_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete group_daemon_;
    group_daemon_ = nullptr;
  }

  void SetUp() override {
    if (!kHaveGroupMember) {
      GTEST_SKIP() << "plugins/group_member is not in the tree yet";
    }
    ASSERT_NE(group_daemon_, nullptr) << "dbproxyd with group_member did not start";
    ASSERT_TRUE(client_.Connect(group_daemon_->port()));
  }

  // A normal group with the given members (joined at join_time), in MySQL and in Redis.
  static uint32_t NewGroup(const std::vector<uint32_t>& members, uint32_t join_time = 1000) {
    const uint32_t gid = next_group_++;
    db().Exec(
        "INSERT INTO IMGroup (id, name, avatar, creator, type, userCnt, status, version, "
        "lastChated, updated, created) VALUES (" +
        std::to_string(gid) + ", 'g" + std::to_string(gid) + "', '', " +
        std::to_string(members.front()) + ", 1, " + std::to_string(members.size()) +
        ", 0, 1, 0, 1000, 1000)");
    std::vector<std::string> hset = {"HSET", "group_member_" + std::to_string(gid)};
    for (uint32_t uid : members) {
      db().Exec("INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES (" +
                std::to_string(gid) + ", " + std::to_string(uid) + ", 0, " +
                std::to_string(join_time) + ", " + std::to_string(join_time) + ")");
      hset.push_back(std::to_string(uid));
      hset.push_back(std::to_string(join_time));
    }
    EXPECT_FALSE(redis().CommandArgv(redis().db("group_member"), hset).is_error());
    return gid;
  }

  static std::vector<uint32_t> GroupStoredIds(uint32_t gid) {
    std::vector<uint32_t> ids;
    for (const TestDatabase::Row& row :
         db().Query("SELECT msgId FROM IMGroupMessage_" + std::to_string(gid % 8) +
                    " WHERE groupId = " + std::to_string(gid) + " ORDER BY msgId")) {
      ids.push_back(static_cast<uint32_t>(std::stoul(row[0].value_or("0"))));
    }
    return ids;
  }

  static DaemonProcess* group_daemon_;
  static uint32_t next_group_;
};
DaemonProcess* MessageGroupTest::group_daemon_ = nullptr;
uint32_t MessageGroupTest::next_group_ = 1001;

TEST_F(MessageGroupTest, MemberMessagesAreNumberedPerGroupAndStored) {
  const uint32_t gid = NewGroup({1, 2, 3});
  const uint32_t before = static_cast<uint32_t>(std::time(nullptr));
  EXPECT_EQ(Send(Msg(1, gid, "g1", kGroupText)), 1u);
  EXPECT_EQ(Send(Msg(2, gid, "g2", kGroupText)), 2u);
  EXPECT_EQ(Send(Msg(3, gid, "g3", kGroupText)), 3u);

  std::vector<TestDatabase::Row> rows = db().Query(
      "SELECT groupId, userId, msgId, content, type, status, created, updated FROM "
      "IMGroupMessage_" +
      std::to_string(gid % 8) + " WHERE groupId = " + std::to_string(gid) + " AND msgId = 2");
  std::vector<TestDatabase::Row> expected = {{std::to_string(gid), "2", "2", "g2", "17", "0",
                                              std::to_string(kCreateTime),
                                              std::to_string(kCreateTime)}};
  EXPECT_EQ(rows, expected);
  const uint32_t last_chated = static_cast<uint32_t>(
      std::stoul(db().QueryValue("SELECT lastChated FROM IMGroup WHERE id = " + std::to_string(gid))
                     .value_or("0")));
  EXPECT_GE(last_chated, before);
  EXPECT_EQ(RedisGet("group_msg_id_" + std::to_string(gid)).str, "3");
}

TEST_F(MessageGroupTest, NonMembersAndUnknownGroupsGetZero) {
  const uint32_t gid = NewGroup({1, 2});
  EXPECT_EQ(Send(Msg(3, gid, "not a member", kGroupText)), 0u);
  EXPECT_EQ(Send(Msg(1, 999999, "no group", kGroupText)), 0u);
  EXPECT_TRUE(GroupStoredIds(gid).empty());
  EXPECT_EQ(Count("SELECT lastChated FROM IMGroup WHERE id = " + std::to_string(gid)), "0");
}

TEST_F(MessageGroupTest, TwentyMembersPostingConcurrentlyGetUniqueIncreasingIds) {
  std::vector<uint32_t> members(20);
  std::iota(members.begin(), members.end(), 1u);
  const uint32_t gid = NewGroup(members);
  std::vector<IMMsgData> msgs;
  for (uint32_t uid : members) {
    msgs.push_back(Msg(uid, gid, "from " + std::to_string(uid), kGroupText));
  }
  std::vector<uint32_t> ids = SendAllAtOnce(group_daemon_->port(), msgs);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, OneTo(20));
  EXPECT_EQ(GroupStoredIds(gid), OneTo(20));
}

TEST_F(MessageGroupTest, LostGroupCounterContinuesAfterTheHighestStoredId) {
  const uint32_t gid = NewGroup({1, 2});
  ASSERT_EQ(Send(Msg(1, gid, "a", kGroupText)), 1u);
  ASSERT_EQ(Send(Msg(2, gid, "b", kGroupText)), 2u);
  redis().Command(unread_db(), "DEL", "group_msg_id_" + std::to_string(gid));
  EXPECT_EQ(Send(Msg(1, gid, "c", kGroupText)), 3u);
}

TEST_F(MessageGroupTest, ReadsNeedMembershipAndStartAtTheJoinTime) {
  const uint32_t gid = NewGroup({1, 2, 3}, 1000);
  ASSERT_EQ(Send(Msg(1, gid, "old", kGroupText, 1500)), 1u);
  ASSERT_EQ(Send(Msg(2, gid, "new", kGroupText, 3000)), 2u);
  // User 3 (re)joined at 2000: the first message predates it.
  redis().Command(redis().db("group_member"), "HSET", "group_member_" + std::to_string(gid), 3,
                  2000);

  IMGetMsgListRsp all = List(1, 2, gid, 0, 10);
  EXPECT_EQ(all.session_type(), IM::BaseDefine::SESSION_TYPE_GROUP);
  EXPECT_EQ(IdsOf(all.msg_list()), (std::vector<uint32_t>{2, 1}));
  ASSERT_EQ(all.msg_list_size(), 2);
  EXPECT_EQ(all.msg_list(0).from_session_id(), 2u);
  EXPECT_EQ(all.msg_list(0).msg_type(), kGroupText);
  EXPECT_EQ(all.msg_list(0).msg_data(), "new");
  EXPECT_EQ(IdsOf(List(3, 2, gid, 0, 10).msg_list()), (std::vector<uint32_t>{2}));
  EXPECT_EQ(List(4, 2, gid, 0, 10).msg_list_size(), 0);  // not a member

  EXPECT_EQ(IdsOf(ById(1, 2, gid, {1, 2}).msg_list()), (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(IdsOf(ById(3, 2, gid, {1, 2}).msg_list()), (std::vector<uint32_t>{2}));
  EXPECT_EQ(ById(4, 2, gid, {1, 2}).msg_list_size(), 0);

  EXPECT_EQ(Latest(1, 2, gid), 2u);
  EXPECT_EQ(Latest(4, 2, gid), 0u);  // W17: non-members learn nothing
}

// ---- Group commit: a daemon with ONE worker, so frames sent back to back queue up behind
// the first and reach the module as batches (one transaction each).

class MessageBatchTest : public MessageGroupTest {
 protected:
  static void SetUpTestSuite() {
    if (!kHaveGroupMember || shared == nullptr || batch_daemon_ != nullptr) {
      return;
    }
    batch_daemon_ = new DaemonProcess();
    DaemonOptions options;
    options.plugins = {"message", "group_member"};
    options.workers = 1;
    if (!batch_daemon_->Start(db(), redis(), options)) {
      delete batch_daemon_;
      batch_daemon_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete batch_daemon_;
    batch_daemon_ = nullptr;
  }

  void SetUp() override {
    if (!kHaveGroupMember) {
      GTEST_SKIP() << "plugins/group_member is not in the tree yet";
    }
    ASSERT_NE(batch_daemon_, nullptr) << "dbproxyd with one worker did not start";
    ASSERT_TRUE(client_.Connect(batch_daemon_->port()));
  }

  // Sends every message without waiting for answers, then collects them (in any order).
  // Returns the msg_id answered for each message; UINT32_MAX where none came.
  std::vector<uint32_t> SendBackToBack(const std::vector<IMMsgData>& msgs) {
    std::string frames;
    for (size_t i = 0; i < msgs.size(); ++i) {
      frames += WireClient::EncodeFrame(WireClient::MakeFrame(
          kSidMsg, kMsgData, static_cast<uint16_t>(i + 1), msgs[i].SerializeAsString()));
    }
    EXPECT_TRUE(client_.SendRaw(frames));  // one write: they queue up together
    std::vector<uint32_t> ids(msgs.size(), UINT32_MAX);
    for (size_t answered = 0; answered < msgs.size(); ++answered) {
      std::optional<Frame> frame = client_.ReadFrame(kCallTimeoutMs, /*skip_heartbeats=*/true);
      if (!frame) {
        ADD_FAILURE() << "only " << answered << " of " << msgs.size() << " answers came";
        break;
      }
      IMMsgData echo;
      EXPECT_TRUE(echo.ParseFromString(frame->body));
      EXPECT_EQ(frame->command_id, kMsgData);
      if (frame->seq >= 1 && frame->seq <= msgs.size()) {
        EXPECT_EQ(echo.msg_data(), msgs[frame->seq - 1].msg_data()) << "seq " << frame->seq;
        ids[frame->seq - 1] = echo.msg_id();
      } else {
        ADD_FAILURE() << "answer with unknown seq " << frame->seq;
      }
    }
    return ids;
  }

  static int64_t Counter(const char* name) {
    return PluginCounter(batch_daemon_->metrics_port(), "message", name);
  }

  // The contents stored for a relation, in msgId order.
  static std::vector<std::string> StoredContents(uint32_t relate_id) {
    std::vector<std::string> out;
    for (const TestDatabase::Row& row :
         db().Query("SELECT content FROM " + MessageTable(relate_id) +
                    " WHERE relateId = " + std::to_string(relate_id) + " ORDER BY msgId")) {
      out.push_back(row[0].value_or("NULL"));
    }
    return out;
  }

  static DaemonProcess* batch_daemon_;
};

DaemonProcess* MessageBatchTest::batch_daemon_ = nullptr;

TEST_F(MessageBatchTest, QueuedSendsShareCommitsAndKeepEveryConversationsOrder) {
  constexpr int kPairs = 30;
  constexpr int kPerPair = 4;
  constexpr uint32_t kGroupMessages = 40;
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  for (int p = 0; p < kPairs; ++p) {
    pairs.push_back(NewPair());  // new pairs: the batch creates their relations
  }
  const uint32_t gid = NewGroup({1, 2, 3, 4, 5});

  // Round-robin: message k of every pair (alternating direction), then a group message.
  std::vector<IMMsgData> msgs;
  std::vector<size_t> group_positions;
  for (int k = 0; k < kPerPair; ++k) {
    for (int p = 0; p < kPairs; ++p) {
      auto [a, b] = pairs[p];
      const std::string text = "p" + std::to_string(p) + "m" + std::to_string(k);
      msgs.push_back(k % 2 == 0 ? Msg(a, b, text) : Msg(b, a, text));
      if (p % 3 == 0) {
        group_positions.push_back(msgs.size());
        msgs.push_back(Msg(1 + static_cast<uint32_t>(msgs.size() % 5), gid,
                           "g" + std::to_string(group_positions.size()), kGroupText));
      }
    }
  }
  ASSERT_EQ(group_positions.size(), kGroupMessages);
  const int64_t batches_before = Counter("send_batches");
  const int64_t stored_before = Counter("messages_stored");

  const std::vector<uint32_t> ids = SendBackToBack(msgs);

  // Each pair: ids 1..4 in the order sent, one relation, rows in that order.
  for (int p = 0; p < kPairs; ++p) {
    auto [a, b] = pairs[p];
    std::vector<uint32_t> got;
    std::vector<std::string> sent;
    for (size_t i = 0; i < msgs.size(); ++i) {
      if (msgs[i].msg_type() == kText &&
          std::min(msgs[i].from_user_id(), msgs[i].to_session_id()) == a) {
        got.push_back(ids[i]);
        sent.push_back(msgs[i].msg_data());
      }
    }
    EXPECT_EQ(got, OneTo(kPerPair)) << "pair " << p;
    EXPECT_EQ(RelationCount(a, b), "1") << "pair " << p;
    const uint32_t rid = RelationId(a, b);
    EXPECT_EQ(StoredIds(rid), OneTo(kPerPair)) << "pair " << p;
    EXPECT_EQ(StoredContents(rid), sent) << "pair " << p;
    EXPECT_EQ(RedisGet("msg_id_" + std::to_string(rid)).str, std::to_string(kPerPair));
  }
  // The group: ids 1..40 in the order sent.
  std::vector<uint32_t> group_ids;
  for (size_t pos : group_positions) {
    group_ids.push_back(ids[pos]);
  }
  EXPECT_EQ(group_ids, OneTo(kGroupMessages));
  EXPECT_EQ(GroupStoredIds(gid), OneTo(kGroupMessages));
  EXPECT_EQ(RedisGet("group_msg_id_" + std::to_string(gid)).str, std::to_string(kGroupMessages));

  // Every message was stored, with fewer commits than messages.
  EXPECT_EQ(Counter("messages_stored") - stored_before, static_cast<int64_t>(msgs.size()));
  const int64_t batches = Counter("send_batches") - batches_before;
  EXPECT_GT(batches, 0);
  EXPECT_LT(batches, static_cast<int64_t>(msgs.size()) / 2) << "sends were not batched";
}

TEST_F(MessageBatchTest, AStatementTheServerRefusesFailsOnlyTheMessageThatCausedIt) {
  // A trigger that makes the server refuse one row, as a constraint or a full disk would.
  struct Triggers {
    Triggers() {
      for (int shard = 0; shard < 8; ++shard) {
        db().Exec("CREATE TRIGGER refuse_poison_" + std::to_string(shard) +
                  " BEFORE INSERT ON IMMessage_" + std::to_string(shard) +
                  " FOR EACH ROW BEGIN IF NEW.content = 'poison' THEN "
                  "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poisoned row'; END IF; END");
      }
    }
    ~Triggers() {
      for (int shard = 0; shard < 8; ++shard) {
        db().Exec("DROP TRIGGER IF EXISTS refuse_poison_" + std::to_string(shard));
      }
    }
  } triggers;

  constexpr int kPairs = 10;
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  for (int p = 0; p < kPairs; ++p) {
    pairs.push_back(NewPair());
  }
  std::vector<IMMsgData> msgs;
  size_t poison_at = 0;
  for (int k = 0; k < 3; ++k) {
    for (int p = 0; p < kPairs; ++p) {
      const bool poison = k == 2 && p == 4;  // late, so it shares a batch with others
      if (poison) {
        poison_at = msgs.size();
      }
      msgs.push_back(
          Msg(pairs[p].first, pairs[p].second, poison ? "poison" : "fine " + std::to_string(k)));
    }
  }
  const int64_t retries_before = Counter("send_batch_retries");

  const std::vector<uint32_t> ids = SendBackToBack(msgs);

  EXPECT_EQ(ids[poison_at], 0u);
  for (int p = 0; p < kPairs; ++p) {
    const uint32_t rid = RelationId(pairs[p].first, pairs[p].second);
    const std::vector<uint32_t> want = p == 4 ? OneTo(2) : OneTo(3);
    EXPECT_EQ(StoredIds(rid), want) << "pair " << p;
    for (int k = 0; k < 3; ++k) {
      const size_t i = static_cast<size_t>(k * kPairs + p);
      if (i != poison_at) {
        EXPECT_EQ(ids[i], static_cast<uint32_t>(k + 1)) << "pair " << p << " message " << k;
      }
    }
  }
  EXPECT_GE(Counter("send_batch_retries") - retries_before, 1);
}

}  // namespace
}  // namespace dbproxy::testing
