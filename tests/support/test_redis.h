#pragma once

#include <array>
#include <concepts>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/test_env.h"

struct redisContext;

namespace dbproxy::testing {

// One Redis reply, copied out of hiredis. A plain value.
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };

  Type type = Type::kNil;
  std::string str;                   // kString, kStatus ("OK"), kError (the message)
  long long integer = 0;             // kInteger
  std::vector<RedisReply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

// Prints a reply the way redis-cli would, for googletest failure messages.
void PrintTo(const RedisReply& reply, std::ostream* out);

// Five Redis databases on the private Redis of tools/test, one per dbproxy Redis instance,
// flushed and loaded with the demo data: etc/demo_redis.txt into `group_member`,
// etc/demo_redis_unread.txt into `unread`.
//
// Each test process gets its own block of five database numbers on each Redis server it
// uses (a counter in db 0 proposes block b; the block starts at 16 + (b % 46) * 5, so dbs
// 16..245 are used; a lease key in db 0 marks it taken until the process exits), so test
// binaries running in parallel never share a database. Every Create() in the process on the
// same server reuses that block and flushes it first, so tests within a binary start from
// the demo state.
//
// Failures to reach Redis or to load the demo files record a test failure and throw, ending
// the current test; Redis error replies are returned as kError replies.
// Thread rule: one thread at a time (it owns a single connection).
class TestRedis {
 public:
  // dbproxy's Redis instance names, in block order: db(kInstances[i]) == base_db() + i.
  static constexpr std::array<std::string_view, 5> kInstances = {"unread", "group_set", "sync",
                                                                 "token", "group_member"};

  // Connects, takes this process's block, flushes it and loads the demo data. Never null.
  static std::unique_ptr<TestRedis> Create();
  // The same on another server, e.g. a tests/support/private_redis.h PrivateRedis's env()
  // (which must have at least 256 databases, as PrivateRedis has).
  static std::unique_ptr<TestRedis> Create(const TestEnv& env);

  // Closes the connection and opens a new one to the same server (same block), e.g. after
  // the test restarted its private Redis. Fails the test (and throws) if it does not answer.
  void Reconnect();
  // The same on another port of the same data, e.g. the replica a failover promoted.
  void Reconnect(uint16_t port);

  ~TestRedis();
  TestRedis(const TestRedis&) = delete;
  TestRedis& operator=(const TestRedis&) = delete;

  // The database number of a dbproxy Redis instance ("unread", ..., "group_member"); an
  // unknown name fails the test.
  int db(std::string_view instance) const;
  int base_db() const { return base_db_; }
  const TestEnv& env() const { return env_; }

  // Runs one command in database `db`; arguments are binary-safe. Example:
  //   redis.Command(redis.db("group_member"), "HGET", "group_member_1", 3)
  template <class... Args>
  RedisReply Command(int db, const Args&... args) {
    return CommandArgv(db, {ToArgument(args)...});
  }
  RedisReply CommandArgv(int db, const std::vector<std::string>& argv);

  void FlushDb(int db);

  // Runs a file of redis-cli style commands (one per line, "double" or 'single' quotes,
  // blank lines and # comments skipped) in database `db`, pipelined.
  void LoadCommandFile(int db, const std::string& path);

 private:
  TestRedis(TestEnv env, redisContext* context, int base_db);

  static std::string ToArgument(std::string_view text) { return std::string(text); }
  template <std::integral T>
  static std::string ToArgument(T number) {
    return std::to_string(number);
  }

  void Select(int db);

  TestEnv env_;
  redisContext* context_;  // owned; freed in the destructor
  int base_db_;
  int selected_db_ = 0;
};

}  // namespace dbproxy::testing
