#include "core/storage/redis_pool.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/private_redis.h"

// Runs against a real Redis started by tools/test (with `databases 256`), which exports
// DBPROXY_TEST_REDIS_PORT. Each process uses its own db number >= 16, flushed around tests.

namespace dbproxy::storage {
namespace {

using Args = std::vector<std::string>;

// A port nothing listens on: bound once by us, then released.
uint16_t UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  (void)bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  (void)getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

Result<RedisReplyPtr> Call(RedisPool& pool, const Args& args) {
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    argvlen.push_back(arg.size());
  }
  return pool.Command(static_cast<int>(argv.size()), argv.data(), argvlen.data());
}

class RedisPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // dbproxyd's main ignores SIGPIPE; a killed connection must not kill the test either.
    signal(SIGPIPE, SIG_IGN);
    const char* port = std::getenv("DBPROXY_TEST_REDIS_PORT");
    if (port == nullptr) {
      GTEST_FAIL() << "DBPROXY_TEST_REDIS_PORT is not set: run the storage tests through "
                      "tools/test, which starts MariaDB and Redis and exports their ports";
    }
    config_.name = "test";
    config_.host = "127.0.0.1";
    config_.port = static_cast<uint16_t>(std::atoi(port));
    config_.db = 16 + static_cast<uint32_t>(getpid()) % 240;
    config_.pool_size = 2;
    config_.connect_timeout_ms = 2000;
    config_.command_timeout_ms = 5000;
    config_.acquire_timeout_ms = 5000;
    pool_ = MakePool(config_);
    ASSERT_NE(pool_, nullptr);
    ASSERT_NO_FATAL_FAILURE(Expect(*pool_, {"FLUSHDB"}, DBP_REDIS_STATUS, "OK"));
  }

  void TearDown() override {
    if (pool_ != nullptr) {
      (void)Call(*pool_, {"FLUSHDB"});
      EXPECT_EQ(pool_->stats().in_use, 0u) << "a call kept its connection";
    }
  }

  static std::unique_ptr<RedisPool> MakePool(const config::RedisConfig& config) {
    auto pool = RedisPool::Create(config);
    EXPECT_TRUE(pool.ok()) << pool.status().ToString();
    return pool.ok() ? std::move(pool).value() : nullptr;
  }

  // Runs args and checks the reply's type and string.
  static void Expect(RedisPool& pool, const Args& args, int type, const std::string& str) {
    auto reply = Call(pool, args);
    ASSERT_TRUE(reply.ok()) << args[0] << ": " << reply.status().ToString();
    EXPECT_EQ((*reply)->type, type) << args[0] << " replied " << (*reply)->str;
    EXPECT_EQ((*reply)->str, str) << args[0];
  }

  config::RedisConfig config_;
  std::unique_ptr<RedisPool> pool_;
};

TEST_F(RedisPoolTest, StoresAndReturnsBinaryValues) {
  using namespace std::string_literals;
  const std::string key = "bin\0key"s;
  const std::string value = "a\0b\r\n$3\r\n%s \xF0\x9F\x98\x80\0"s;
  Expect(*pool_, {"SET", key, value}, DBP_REDIS_STATUS, "OK");
  Expect(*pool_, {"GET", key}, DBP_REDIS_STRING, value);
  Expect(*pool_, {"GET", "missing"}, DBP_REDIS_NIL, "");
}

TEST_F(RedisPoolTest, RunsPipelineAsOneArrayReply) {
  auto reply = pool_->Pipeline({{"SET", "counter", "1"}, {"INCR", "counter"}, {"GET", "counter"}});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_EQ((*reply)->type, DBP_REDIS_ARRAY);
  ASSERT_EQ((*reply)->elements.size(), 3u);
  EXPECT_EQ((*reply)->elements[0]->type, DBP_REDIS_STATUS);
  EXPECT_EQ((*reply)->elements[0]->str, "OK");
  EXPECT_EQ((*reply)->elements[1]->type, DBP_REDIS_INTEGER);
  EXPECT_EQ((*reply)->elements[1]->integer, 2);
  EXPECT_EQ((*reply)->elements[2]->type, DBP_REDIS_STRING);
  EXPECT_EQ((*reply)->elements[2]->str, "2");
  EXPECT_EQ(pool_->stats().size, 1u) << "one connection served the whole pipeline";
}

TEST_F(RedisPoolTest, ReturnsNestedArrays) {
  Expect(*pool_, {"HSET", "h", "f", "v"}, DBP_REDIS_INTEGER, "");
  auto reply = Call(*pool_, {"HGETALL", "h"});
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ((*reply)->type, DBP_REDIS_ARRAY);
  ASSERT_EQ((*reply)->elements.size(), 2u);
  EXPECT_EQ((*reply)->elements[0]->str, "f");
  EXPECT_EQ((*reply)->elements[1]->str, "v");
}

TEST_F(RedisPoolTest, ReturnsErrorRepliesAsValues) {
  Expect(*pool_, {"SET", "text", "not a number"}, DBP_REDIS_STATUS, "OK");
  auto reply = Call(*pool_, {"INCR", "text"});
  ASSERT_TRUE(reply.ok()) << "an error reply is a successful call";
  EXPECT_EQ((*reply)->type, DBP_REDIS_ERROR);
  EXPECT_EQ((*reply)->str.rfind("ERR", 0), 0u) << (*reply)->str;
  auto in_pipeline = pool_->Pipeline({{"NOSUCHCOMMAND"}, {"PING"}});
  ASSERT_TRUE(in_pipeline.ok());
  EXPECT_EQ((*in_pipeline)->elements[0]->type, DBP_REDIS_ERROR);
  EXPECT_EQ((*in_pipeline)->elements[1]->str, "PONG");
  EXPECT_EQ(pool_->stats().errors, 0u) << "error replies are not pool errors";
}

TEST_F(RedisPoolTest, UsesTheConfiguredDb) {
  Expect(*pool_, {"SET", "where", "here"}, DBP_REDIS_STATUS, "OK");
  config::RedisConfig other = config_;
  other.db = config_.db == 255 ? 254 : config_.db + 1;
  auto other_pool = MakePool(other);
  Expect(*other_pool, {"GET", "where"}, DBP_REDIS_NIL, "");
  auto db = Call(*pool_, {"CLIENT", "INFO"});
  ASSERT_TRUE(db.ok());
  EXPECT_NE((*db)->str.find(" db=" + std::to_string(config_.db) + " "), std::string::npos)
      << (*db)->str;
}

TEST_F(RedisPoolTest, ReconnectsAfterClientKill) {
  auto id = Call(*pool_, {"CLIENT", "ID"});
  ASSERT_TRUE(id.ok());
  ASSERT_EQ((*id)->type, DBP_REDIS_INTEGER);
  auto killer = MakePool(config_);
  auto killed = Call(*killer, {"CLIENT", "KILL", "ID", std::to_string((*id)->integer)});
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ((*killed)->integer, 1);

  // The idle connection is gone; the next call notices before sending and reconnects.
  Expect(*pool_, {"SET", "after", "kill"}, DBP_REDIS_STATUS, "OK");
  Expect(*killer, {"GET", "after"}, DBP_REDIS_STRING, "kill");  // same db after reconnect
  auto new_id = Call(*pool_, {"CLIENT", "ID"});
  ASSERT_TRUE(new_id.ok());
  EXPECT_NE((*new_id)->integer, (*id)->integer);
}

TEST_F(RedisPoolTest, CommandTimeoutDropsTheConnection) {
  config::RedisConfig slow = config_;
  slow.command_timeout_ms = 200;
  auto pool = MakePool(slow);
  auto blocked = Call(*pool, {"BLPOP", "never-pushed", "5"});
  EXPECT_EQ(blocked.status().code(), DBP_E_TIMEOUT) << blocked.status().ToString();
  EXPECT_EQ(pool->stats().size, 0u) << "a timed-out connection may still get the reply";
  EXPECT_EQ(pool->stats().errors, 1u);
  Expect(*pool, {"PING"}, DBP_REDIS_STATUS, "PONG");
}

TEST_F(RedisPoolTest, AcquireTimesOutWhenPoolIsExhausted) {
  config::RedisConfig single = config_;
  single.pool_size = 1;
  single.acquire_timeout_ms = 100;
  auto pool = MakePool(single);
  std::thread holder([&pool] {
    auto popped = Call(*pool, {"BLPOP", "wakeup", "10"});
    EXPECT_TRUE(popped.ok()) << popped.status().ToString();
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pool->stats().in_use == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto second = Call(*pool, {"PING"});
  EXPECT_EQ(second.status().code(), DBP_E_TIMEOUT) << second.status().ToString();
  RedisPool::Stats stats = pool->stats();
  EXPECT_EQ(stats.waits, 1u);
  EXPECT_EQ(stats.timeouts, 1u);
  Expect(*pool_, {"RPUSH", "wakeup", "x"}, DBP_REDIS_INTEGER, "");
  holder.join();
  EXPECT_EQ(pool->stats().in_use, 0u);
}

TEST_F(RedisPoolTest, ManyThreadsShareASmallPool) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int thread = 0; thread < 8; ++thread) {
    threads.emplace_back([this, &failures] {
      for (int i = 0; i < 100; ++i) {
        auto reply = Call(*pool_, {"INCR", "shared"});
        if (!reply.ok() || (*reply)->type != DBP_REDIS_INTEGER) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
  Expect(*pool_, {"GET", "shared"}, DBP_REDIS_STRING, "800");
  EXPECT_LE(pool_->stats().size, config_.pool_size);
}

TEST_F(RedisPoolTest, UnreachablePortFailsFastWithUnavailable) {
  config::RedisConfig down = config_;
  down.port = UnusedPort();
  auto pool = MakePool(down);
  ASSERT_NE(pool, nullptr) << "creating a pool never needs the server";
  auto first = Call(*pool, {"PING"});
  EXPECT_EQ(first.status().code(), DBP_E_UNAVAILABLE) << first.status().ToString();
  auto second = pool->Pipeline({{"PING"}});
  EXPECT_EQ(second.status().code(), DBP_E_UNAVAILABLE);
  EXPECT_NE(second.status().message().find("last connect failed"), std::string::npos)
      << "within the retry window no connect is attempted: " << second.status().ToString();
  RedisPool::Stats stats = pool->stats();
  EXPECT_EQ(stats.size, 0u);
  EXPECT_EQ(stats.errors, 1u);
}

TEST_F(RedisPoolTest, RejectsEmptyCommands) {
  EXPECT_EQ(pool_->Command(0, nullptr, nullptr).status().code(), DBP_E_INVALID);
  EXPECT_EQ(pool_->Pipeline({{"PING"}, {}}).status().code(), DBP_E_INVALID);
  auto empty = pool_->Pipeline({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->elements.size(), 0u);
}

}  // namespace
}  // namespace dbproxy::storage

namespace dbproxy::storage {
namespace {

// A Redis 6 ACL user restricted to the commands the plugins use (no FLUSHALL, no CONFIG, no
// keys outside the pool's db are meaningful to it): AUTH <user> <password> then works; a wrong
// password is refused with the server's reason, counted as an error, never a crash.
TEST(RedisPoolAclTest, AuthenticatesAsAnAclUserAndRefusesAWrongPassword) {
  auto redis = dbproxy::testing::PrivateRedis::Start(
      {.extra_config = "user dbproxy on >s3cret ~* -@all +@read +@write +@hash +@set +@string "
                       "+@keyspace +@transaction +ping +select +auth -flushall -flushdb\n"});
  config::RedisConfig config;
  config.name = "acl";
  config.host = "127.0.0.1";
  config.port = redis->port();
  config.db = 1;
  config.username = "dbproxy";
  config.password = "s3cret";
  config.pool_size = 1;
  auto pool = RedisPool::Create(config);
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  auto set = Call(**pool, {"SET", "k", "v"});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ((*set)->str, "OK");
  auto denied = Call(**pool, {"FLUSHALL"});
  ASSERT_TRUE(denied.ok()) << denied.status().ToString();
  EXPECT_EQ((*denied)->type, DBP_REDIS_ERROR) << "the ACL must restrict the user";

  config::RedisConfig wrong = config;
  wrong.password = "not-it";
  auto bad = RedisPool::Create(wrong);
  ASSERT_TRUE(bad.ok());
  auto refused = Call(**bad, {"PING"});
  EXPECT_EQ(refused.status().code(), DBP_E_UNAVAILABLE);
  EXPECT_NE(refused.status().message().find("AUTH rejected"), std::string::npos)
      << refused.status().ToString();
  EXPECT_EQ((*bad)->stats().errors, 1u);
}

}  // namespace
}  // namespace dbproxy::storage
