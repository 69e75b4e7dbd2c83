// Tests of the test harness itself: the database, Redis and wire client the suites rely on,
// and the start-up contract with dbproxyd (config, --ready-file, SIGTERM).

#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/test_database.h"
#include "tests/support/test_env.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

using Frame = WireClient::Frame;

TEST(TestDatabase, CreatesSchemaWithDemoUsersAndGroups) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();

  EXPECT_EQ(db->QueryValue("SELECT COUNT(*) FROM IMUser"), "1000");
  EXPECT_EQ(db->QueryValue("SELECT name FROM IMUser WHERE id = 1000"), "user1000");
  std::vector<TestDatabase::Row> groups =
      db->Query("SELECT id, name, type FROM IMGroup ORDER BY id");
  std::vector<TestDatabase::Row> expected = {{"1", "group-1-10", "1"},
                                             {"2", "group-1-100", "1"},
                                             {"3", "tmp-1-3", "2"},
                                             {"4", "group-1-500", "1"}};
  EXPECT_EQ(groups, expected);
  EXPECT_EQ(db->QueryValue("SELECT COUNT(*) FROM IMGroupMember WHERE groupId = 4 AND status = 0"),
            "500");
  EXPECT_EQ(db->QueryValue("SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                           "TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'IMMessage\\_%'"),
            "8");
}

TEST(TestDatabase, DropsItsDatabaseWhenDestroyed) {
  std::string name = TestDatabase::Create()->name();

  std::unique_ptr<TestDatabase> other = TestDatabase::Create();
  EXPECT_NE(other->name(), name);
  EXPECT_EQ(other->QueryValue("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE "
                              "SCHEMA_NAME = '" +
                              name + "'"),
            KeepTestState() ? "1" : "0");
}

TEST(TestDatabase, QueryReturnsNullAsNullopt) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();

  std::vector<TestDatabase::Row> rows = db->Query("SELECT NULL, 'x'");

  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], std::nullopt);
  EXPECT_EQ(rows[0][1], "x");
}

TEST(TestRedis, LoadsDemoGroupMembershipAndCounters) {
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  int members = redis->db("group_member");

  EXPECT_EQ(redis->Command(members, "HLEN", "group_member_4").integer, 500);
  EXPECT_EQ(redis->Command(members, "HLEN", "group_member_1").integer, 10);
  EXPECT_EQ(redis->Command(members, "HEXISTS", "group_member_3", 3).integer, 1);
  EXPECT_EQ(redis->Command(members, "HEXISTS", "group_member_3", 4).integer, 0);
  EXPECT_EQ(redis->Command(redis->db("unread"), "GET", "group_msg_id_4").str, "0");
}

TEST(TestRedis, GivesEachInstanceItsOwnDatabaseAboveTheDefaults) {
  std::unique_ptr<TestRedis> redis = TestRedis::Create();

  std::set<int> dbs;
  for (std::string_view instance : TestRedis::kInstances) {
    dbs.insert(redis->db(instance));
  }

  EXPECT_EQ(dbs.size(), 5u);
  EXPECT_GE(*dbs.begin(), 16);    // 0..15 stay free for hand-run tools
  EXPECT_LE(*dbs.rbegin(), 255);  // tools/test starts Redis with 256 databases
  EXPECT_EQ(redis->db("unread"), redis->base_db());
  EXPECT_EQ(redis->db("group_member"), redis->base_db() + 4);
}

TEST(TestRedis, FlushDbEmptiesOnlyThatDatabase) {
  std::unique_ptr<TestRedis> redis = TestRedis::Create();

  redis->FlushDb(redis->db("group_member"));

  EXPECT_EQ(redis->Command(redis->db("group_member"), "DBSIZE").integer, 0);
  EXPECT_TRUE(redis->Command(redis->db("group_member"), "GET", "nothing").is_nil());
  EXPECT_EQ(redis->Command(redis->db("unread"), "EXISTS", "group_msg_id_1").integer, 1);
}

TEST(TestRedis, ReturnsErrorRepliesAsErrors) {
  std::unique_ptr<TestRedis> redis = TestRedis::Create();

  RedisReply reply = redis->Command(redis->db("group_member"), "GET", "group_member_1");

  EXPECT_TRUE(reply.is_error());
  EXPECT_NE(reply.str.find("WRONGTYPE"), std::string::npos);
}

// Two connected WireClients, for checking the codec without a server.
struct ClientPair {
  ClientPair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    client = WireClient(fds[0]);
    peer = WireClient(fds[1]);
  }
  WireClient client;
  WireClient peer;
};

TEST(WireClient, EncodesHeaderBigEndianWithLengthIncludingHeader) {
  std::string bytes = WireClient::EncodeFrame(WireClient::MakeFrame(0x0007, 0x0703, 0x1234, "ab"));

  EXPECT_EQ(bytes, std::string("\x00\x00\x00\x12"  // length 18
                               "\x00\x01"          // version 1
                               "\x00\x00"          // flag
                               "\x00\x07"          // service
                               "\x07\x03"          // command
                               "\x12\x34"          // seq
                               "\x00\x00"          // reserved
                               "ab",
                               18));
}

TEST(WireClient, FrameSurvivesEncodeAndDecodeThroughSocketpair) {
  ClientPair pair;
  std::string body("\x08\x01\x00\xff", 4);

  ASSERT_TRUE(pair.client.SendFrame(0x0003, 0x0301, 0xfffe, body));
  std::optional<Frame> frame = pair.peer.ReadFrame(5000);

  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->length, 16u + body.size());
  EXPECT_EQ(frame->version, 1);
  EXPECT_EQ(frame->flag, 0);
  EXPECT_EQ(frame->service_id, 0x0003);
  EXPECT_EQ(frame->command_id, 0x0301);
  EXPECT_EQ(frame->seq, 0xfffe);
  EXPECT_EQ(frame->reserved, 0);
  EXPECT_EQ(frame->body, body);
}

TEST(WireClient, ReassemblesFramesSplitAndCoalescedOnTheStream) {
  ClientPair pair;
  std::string stream = WireClient::EncodeFrame(WireClient::MakeFrame(7, 0x0701, 0, "")) +
                       WireClient::EncodeFrame(WireClient::MakeFrame(7, 0x0702, 5, "xyz"));

  ASSERT_TRUE(pair.peer.SendRaw(stream.substr(0, 20)));
  std::optional<Frame> first = pair.client.ReadFrame(5000);
  ASSERT_TRUE(pair.peer.SendRaw(stream.substr(20)));
  std::optional<Frame> second = pair.client.ReadFrame(5000);

  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->command_id, 0x0701);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->command_id, 0x0702);
  EXPECT_EQ(second->body, "xyz");
}

TEST(WireClient, CallWaitsForItsSeqAndQueuesOtherFrames) {
  ClientPair pair;
  // The answer is already on its way behind a heartbeat and an unrelated frame; the first
  // Call() uses seq 1.
  ASSERT_TRUE(pair.peer.SendFrame(7, WireClient::kHeartbeatCommand, 0, ""));
  ASSERT_TRUE(pair.peer.SendFrame(3, 0x0302, 9, "other"));
  ASSERT_TRUE(pair.peer.SendFrame(7, 0x0704, 1, "answer"));

  std::optional<Frame> answer = pair.client.Call(7, 0x0703, "request");

  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->seq, 1);
  EXPECT_EQ(answer->body, "answer");
  std::optional<Frame> request = pair.peer.ReadFrame(5000);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->seq, 1);
  EXPECT_EQ(request->body, "request");
  std::optional<Frame> queued = pair.client.ReadFrame(0);
  ASSERT_TRUE(queued.has_value());
  EXPECT_EQ(queued->command_id, WireClient::kHeartbeatCommand);
  queued = pair.client.ReadFrame(0);
  ASSERT_TRUE(queued.has_value());
  EXPECT_EQ(queued->seq, 9);
  EXPECT_FALSE(pair.client.ReadFrame(0).has_value());
}

TEST(WireClient, IsClosedReportsPeerCloseOnlyAfterIt) {
  ClientPair pair;

  EXPECT_FALSE(pair.client.IsClosed(0));
  pair.peer.Close();

  EXPECT_TRUE(pair.client.IsClosed(5000));
  EXPECT_TRUE(pair.client.peer_closed());
  EXPECT_FALSE(pair.client.ReadFrame(0).has_value());
}

TEST(DaemonProcess, StartsWithoutPluginsReportsItsAddressesAndStopsCleanly) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  DaemonProcess daemon;

  ASSERT_TRUE(daemon.Start(*db, *redis));

  EXPECT_GT(daemon.port(), 0);
  EXPECT_GT(daemon.metrics_port(), 0);
  EXPECT_TRUE(std::filesystem::exists(daemon.admin_socket())) << daemon.admin_socket();
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon.port())) << client.last_error();
  ASSERT_TRUE(client.SendFrame(7, WireClient::kHeartbeatCommand, 0, ""));
  EXPECT_FALSE(client.IsClosed(0));
  EXPECT_EQ(daemon.Stop(), 0);
  EXPECT_TRUE(client.IsClosed(5000));
  EXPECT_FALSE(daemon.running());
}

}  // namespace
}  // namespace dbproxy::testing
