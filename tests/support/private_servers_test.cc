// The private servers of tests/support: a mariadbd and redis-server (and a sentinel) that a
// test owns, can crash, empty and restart, and that dbproxyd and the harness can target.

#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "tests/support/daemon_process.h"
#include "tests/support/private_mariadb.h"
#include "tests/support/private_redis.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

TEST(PrivateMariadb, KeepsCommittedRowsAcrossAKillAndARestart) {
  auto server = PrivateMariadb::Start();
  ASSERT_NE(server->port(), TestEnv::Get().mysql_port);
  auto database = TestDatabase::Create(server->env());
  EXPECT_EQ(database->QueryValue("SELECT COUNT(*) FROM IMUser"), "1000");
  database->Exec("UPDATE IMUser SET nick = 'after-crash' WHERE id = 7");

  server->Kill();
  EXPECT_FALSE(server->running());
  server->Restart();
  database->Reconnect();
  EXPECT_EQ(database->QueryValue("SELECT nick FROM IMUser WHERE id = 7"), "after-crash");

  server->Stop();
  server->Restart();
  database->Reconnect();
  EXPECT_EQ(database->QueryValue("SELECT COUNT(*) FROM IMUser"), "1000");
}

TEST(PrivateMariadb, AppliesExtraConfigAtStartAndRestart) {
  auto server = PrivateMariadb::Start({.extra_config = "server_id=41\n"});
  auto database = TestDatabase::Create(server->env());
  EXPECT_EQ(database->QueryValue("SELECT @@server_id"), "41");
  server->set_extra_config("server_id=42\n");
  server->Stop();
  server->Restart();
  database->Reconnect();
  EXPECT_EQ(database->QueryValue("SELECT @@server_id"), "42");
}

TEST(PrivateRedis, ComesBackEmptyAfterShutdownNoSave) {
  auto server = PrivateRedis::Start();
  ASSERT_NE(server->port(), TestEnv::Get().redis_port);
  auto redis = TestRedis::Create(server->env());
  int db = redis->db("unread");
  ASSERT_FALSE(redis->Command(db, "SET", "k", "v").is_error());

  server->ShutdownNoSave();
  EXPECT_FALSE(server->running());
  server->Restart();
  redis->Reconnect();
  EXPECT_TRUE(redis->Command(db, "GET", "k").is_nil());
}

TEST(PrivateRedis, SentinelReportsTheMasterItMonitors) {
  auto master = PrivateRedis::Start();
  auto sentinel = PrivateRedis::Start(
      {.sentinel = true,
       .extra_config = "sentinel monitor m 127.0.0.1 " + std::to_string(master->port()) + " 1\n"});
  timeval timeout{5, 0};
  redisContext* context = redisConnectWithTimeout("127.0.0.1", sentinel->port(), timeout);
  ASSERT_TRUE(context != nullptr && context->err == 0);
  auto* reply =
      static_cast<redisReply*>(redisCommand(context, "SENTINEL get-master-addr-by-name m"));
  ASSERT_NE(reply, nullptr);
  std::string answer;
  for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; ++i) {
    answer += std::string(reply->element[i]->str, reply->element[i]->len) + "\n";
  }
  freeReplyObject(reply);
  redisFree(context);
  EXPECT_EQ(answer, "127.0.0.1\n" + std::to_string(master->port()) + "\n");
}

TEST(PrivateServers, DbproxydRunsOnThemAndSurvivesTheirRestart) {
  auto mariadb = PrivateMariadb::Start();
  auto redis_server = PrivateRedis::Start();
  auto database = TestDatabase::Create(mariadb->env());
  auto redis = TestRedis::Create(redis_server->env());
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(*database, *redis));
  mariadb->Kill();
  redis_server->Kill();
  mariadb->Restart();
  redis_server->Restart();
  database->Reconnect();
  // The daemon rode out the loss of both servers; it still answers and stops cleanly.
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon.port()));
  ASSERT_TRUE(client.SendFrame(7, WireClient::kHeartbeatCommand, 0, ""));
  EXPECT_EQ(daemon.Stop(), 0);
}

}  // namespace
}  // namespace dbproxy::testing
