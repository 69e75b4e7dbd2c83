// RedisPool with sentinels (sentinel_resolver.h) against real private processes: a master,
// its replica and one redis-sentinel.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "core/storage/redis_pool.h"
#include "core/storage/sentinel_events.h"
#include "tests/support/private_redis.h"
#include "tests/support/wait_for.h"

namespace dbproxy::storage {
namespace {

using testing::PrivateRedis;
using testing::WaitFor;
using Args = std::vector<std::string>;

Result<RedisReplyPtr> Call(RedisPool& pool, const Args& args) {
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    argvlen.push_back(arg.size());
  }
  return pool.Command(static_cast<int>(argv.size()), argv.data(), argvlen.data());
}

// A port nothing listens on: bound once, then released.
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

// One command straight to a private server; its string/status reply ("" if none).
std::string Direct(uint16_t port, const Args& args) {
  timeval timeout{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  std::string out;
  if (c != nullptr && c->err == 0) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r != nullptr && r->str != nullptr) {
      out.assign(r->str, r->len);
    }
    freeReplyObject(r);
  }
  redisFree(c);
  return out;
}

class RedisSentinelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    // No 5 s wait (Redis 7's default) before the replica's first full sync.
    PrivateRedis::Options master;
    master.extra_config = "repl-diskless-sync-delay 0\n";
    master_ = PrivateRedis::Start(master);
    PrivateRedis::Options replica;
    replica.extra_config =
        "replicaof 127.0.0.1 " + std::to_string(master_->port()) + "\nrepl-diskless-sync-delay 0\n";
    replica_ = PrivateRedis::Start(replica);
    ASSERT_TRUE(WaitFor(
        [&] {
          return Direct(replica_->port(), {"INFO", "replication"}).find("master_link_status:up") !=
                 std::string::npos;
        },
        15000));
    PrivateRedis::Options sentinel;
    sentinel.sentinel = true;
    sentinel.extra_config = "sentinel monitor m 127.0.0.1 " + std::to_string(master_->port()) +
                            " 1\nsentinel down-after-milliseconds m 1000\n"
                            "sentinel failover-timeout m 10000\n";
    sentinel_ = PrivateRedis::Start(sentinel);
    config_.name = "test";
    config_.pool_size = 4;
    config_.db = 0;  // a private server: Direct() can read what the pool wrote
    config_.master_name = "m";
    config_.sentinel_poll_ms = 100;
    // The first sentinel is dead: the pool must move on to the next one.
    config_.sentinels = {{"127.0.0.1", UnusedPort()}, {"127.0.0.1", sentinel_->port()}};
  }

  std::string Address(const PrivateRedis& r) const {
    return "127.0.0.1:" + std::to_string(r.port());
  }

  std::unique_ptr<PrivateRedis> master_;
  std::unique_ptr<PrivateRedis> replica_;
  std::unique_ptr<PrivateRedis> sentinel_;
  config::RedisConfig config_;
};

TEST_F(RedisSentinelTest, FindsTheMasterThroughTheFirstSentinelThatAnswers) {
  auto pool = RedisPool::Create(config_);
  ASSERT_TRUE(pool.ok());
  auto set = Call(**pool, {"SET", "k", "v"});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ("OK", (*set)->str);
  EXPECT_EQ(Address(*master_), (*pool)->stats().master);
  EXPECT_EQ(0u, (*pool)->stats().master_switches);
  EXPECT_EQ("v", Direct(master_->port(), {"GET", "k"}));
}

TEST_F(RedisSentinelTest, UnknownMasterNameFailsAndIsCounted) {
  config_.master_name = "nope";
  auto pool = RedisPool::Create(config_);
  ASSERT_TRUE(pool.ok());
  auto set = Call(**pool, {"SET", "k", "v"});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(DBP_E_UNAVAILABLE, set.status().code());
  EXPECT_NE(std::string::npos, set.status().message().find("no sentinel named a master"))
      << set.status().message();
  EXPECT_GE((*pool)->stats().resolve_failures, 1u);
  EXPECT_EQ("", (*pool)->stats().master);
}

TEST_F(RedisSentinelTest, FollowsAFailoverAndWritesToTheNewMaster) {
  auto pool = RedisPool::Create(config_);
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE(Call(**pool, {"SET", "k", "before"}).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        return Direct(sentinel_->port(), {"SENTINEL", "FAILOVER", "m"}) == "OK";
      },
      10000));
  ASSERT_TRUE(WaitFor([&] { return (*pool)->stats().master == Address(*replica_); }, 15000))
      << "still on " << (*pool)->stats().master;
  EXPECT_EQ(1u, (*pool)->stats().master_switches);
  auto set = Call(**pool, {"SET", "k", "after"});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ("OK", (*set)->str) << "a write after the switch went to a replica";
  auto get = Call(**pool, {"GET", "k"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ("after", (*get)->str);
  EXPECT_EQ("after", Direct(replica_->port(), {"GET", "k"}));
}

TEST(SentinelEventListener, ClassifiesOnlyTheEventsOfItsMaster) {
  SentinelEvent e{};
  EXPECT_TRUE(SentinelEventListener::Classify(
      "m", "+selected-slave", "slave 127.0.0.1:7001 127.0.0.1 7001 @ m 127.0.0.1 7000", &e));
  EXPECT_EQ(SentinelEvent::kFailoverStarting, e);
  EXPECT_TRUE(SentinelEventListener::Classify("m", "+try-failover", "master m 127.0.0.1 7000", &e));
  EXPECT_EQ(SentinelEvent::kFailoverStarting, e);
  EXPECT_TRUE(SentinelEventListener::Classify(
      "m", "+promoted-slave", "slave 127.0.0.1:7001 127.0.0.1 7001 @ m 127.0.0.1 7000", &e));
  EXPECT_EQ(SentinelEvent::kPromoted, e);
  EXPECT_TRUE(SentinelEventListener::Classify("m", "+switch-master",
                                              "m 127.0.0.1 7000 127.0.0.1 7001", &e));
  EXPECT_EQ(SentinelEvent::kSwitched, e);
  EXPECT_TRUE(SentinelEventListener::Classify("m", "-failover-abort-no-good-slave",
                                              "master m 127.0.0.1 7000", &e));
  EXPECT_EQ(SentinelEvent::kAborted, e);
  EXPECT_TRUE(SentinelEventListener::Classify("m", "+failover-end", "master m 127.0.0.1 7000", &e));
  EXPECT_EQ(SentinelEvent::kSwitched, e) << "a successful end must keep the fence";
  // Another master whose name starts like ours, and one whose replica line mentions it.
  EXPECT_FALSE(SentinelEventListener::Classify("m", "+switch-master",
                                               "m2 127.0.0.1 7000 127.0.0.1 7001", &e));
  EXPECT_FALSE(SentinelEventListener::Classify(
      "m", "+selected-slave", "slave 127.0.0.1:7001 127.0.0.1 7001 @ mm 127.0.0.1 7000", &e));
}

}  // namespace
}  // namespace dbproxy::storage
