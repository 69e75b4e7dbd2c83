#include "tests/support/test_redis.h"

#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

namespace dbproxy::testing {
namespace {

constexpr int kFirstBlockDb = 16;
constexpr int kBlockCount = 46;  // 16 + 46 * 5 = 246 <= the 256 databases tools/test configures
constexpr int kTimeoutMs = 5000;

[[noreturn]] void Fail(const std::string& message) {
  ADD_FAILURE() << message;
  throw std::runtime_error(message);
}

timeval Timeval(int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; }

RedisReply Copy(const redisReply& reply) {
  RedisReply copy;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      copy.type = RedisReply::Type::kString;
      copy.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      copy.type = RedisReply::Type::kStatus;
      copy.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      copy.type = RedisReply::Type::kError;
      copy.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      copy.type = RedisReply::Type::kInteger;
      copy.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      copy.type = RedisReply::Type::kArray;
      copy.elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) {
        copy.elements.push_back(Copy(*reply.element[i]));
      }
      break;
    default:
      copy.type = RedisReply::Type::kNil;
      break;
  }
  return copy;
}

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// Splits one redis-cli style line into arguments: whitespace separates, "double quotes"
// take \" \\ \n \r \t escapes, 'single quotes' are literal. Returns nullopt on an
// unterminated quote.
std::optional<std::vector<std::string>> SplitCommandLine(std::string_view line) {
  std::vector<std::string> args;
  size_t i = 0;
  while (true) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) {
      ++i;
    }
    if (i == line.size()) {
      return args;
    }
    std::string arg;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) {
      char quote = line[i];
      if (quote != '"' && quote != '\'') {
        arg += line[i++];
        continue;
      }
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && i < line.size()) {
          char escaped = line[i++];
          c = escaped == 'n' ? '\n' : escaped == 'r' ? '\r' : escaped == 't' ? '\t' : escaped;
        }
        arg += c;
      }
      if (!closed) {
        return std::nullopt;
      }
    }
    args.push_back(std::move(arg));
  }
}

void AppendArgv(redisContext* context, const std::vector<std::string>& argv) {
  std::vector<const char*> pointers;
  std::vector<size_t> lengths;
  pointers.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const std::string& arg : argv) {
    pointers.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAppendCommandArgv(context, static_cast<int>(argv.size()), pointers.data(),
                             lengths.data()) != REDIS_OK) {
    Fail(std::string("Redis: cannot queue command: ") + context->errstr);
  }
}

ReplyPtr ReadReply(redisContext* context) {
  void* reply = nullptr;
  if (redisGetReply(context, &reply) != REDIS_OK || reply == nullptr) {
    Fail(std::string("Redis: connection failed: ") + context->errstr);
  }
  return ReplyPtr(static_cast<redisReply*>(reply));
}

// Blocks are leased: key dbproxy_test_block_lease_<b> in db 0 holds a token of this process
// while it runs (deleted at exit; a process killed by ctest leaves it to expire after the
// longest test timeout). Without leases the counter below wraps after kBlockCount test
// processes, and a short test started while a long one runs could flush the long one's block.
constexpr int kLeaseSeconds = 600;

class BlockLeases {
 public:
  void Add(const std::string& host, int port, std::string key, std::string token) {
    leases_.push_back({host, port, std::move(key), std::move(token)});
  }
  ~BlockLeases() {
    for (const Lease& lease : leases_) {
      redisContext* context = redisConnectWithTimeout(lease.host.c_str(), lease.port, Timeval(500));
      if (context != nullptr && context->err == 0) {
        // Delete only our own lease: it may have expired and been taken by another process.
        void* reply = redisCommand(context, "EVAL %s 1 %s %s",
                                   "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                   "return redis.call('DEL', KEYS[1]) end return 0",
                                   lease.key.c_str(), lease.token.c_str());
        freeReplyObject(reply);
      }
      redisFree(context);
    }
  }

 private:
  struct Lease {
    std::string host;
    int port;
    std::string key;
    std::string token;
  };
  std::vector<Lease> leases_;
};

// This process's block of five databases on the server env points at, leased once per
// server. Per server, not per process: a test that first used a private Redis (whose
// counter starts again at 1) must not carry that block over to the shared one, where
// another test process holds it.
int ProcessBaseDb(redisContext* context, const TestEnv& env) {
  static std::mutex mu;
  static std::map<std::string, int> bases;
  static BlockLeases leases;
  std::lock_guard lock(mu);
  const std::string server = env.redis_host + ":" + std::to_string(env.redis_port);
  auto it = bases.find(server);
  if (it != bases.end()) {
    return it->second;
  }
  const std::string token = std::to_string(getpid());
  for (int attempt = 0; attempt < kBlockCount; ++attempt) {
    AppendArgv(context, {"INCR", "dbproxy_test_block"});
    ReplyPtr counter = ReadReply(context);
    if (counter->type != REDIS_REPLY_INTEGER) {
      Fail("Redis: INCR dbproxy_test_block did not return an integer");
    }
    const int block = static_cast<int>(counter->integer % kBlockCount);
    const std::string key = "dbproxy_test_block_lease_" + std::to_string(block);
    AppendArgv(context, {"SET", key, token, "NX", "EX", std::to_string(kLeaseSeconds)});
    ReplyPtr leased = ReadReply(context);
    if (leased->type == REDIS_REPLY_STATUS) {  // OK; nil when another process holds it
      leases.Add(env.redis_host, env.redis_port, key, token);
      const int base = kFirstBlockDb + block * static_cast<int>(TestRedis::kInstances.size());
      return bases.emplace(server, base).first->second;
    }
  }
  Fail("Redis: all " + std::to_string(kBlockCount) + " test database blocks are leased");
}

redisContext* Connect(const TestEnv& env) {
  redisContext* context =
      redisConnectWithTimeout(env.redis_host.c_str(), env.redis_port, Timeval(kTimeoutMs));
  if (context == nullptr || context->err != 0) {
    std::string error = context == nullptr ? "out of memory" : context->errstr;
    redisFree(context);
    Fail("cannot connect to Redis at " + env.redis_host + ":" + std::to_string(env.redis_port) +
         ": " + error + " (is tools/test running its Redis?)");
  }
  if (redisSetTimeout(context, Timeval(kTimeoutMs)) != REDIS_OK) {
    std::string error = context->errstr;
    redisFree(context);
    Fail("Redis: cannot set the command timeout: " + error);
  }
  return context;
}

}  // namespace

void PrintTo(const RedisReply& reply, std::ostream* out) {
  switch (reply.type) {
    case RedisReply::Type::kNil:
      *out << "(nil)";
      break;
    case RedisReply::Type::kString:
      *out << '"' << reply.str << '"';
      break;
    case RedisReply::Type::kStatus:
      *out << reply.str;
      break;
    case RedisReply::Type::kError:
      *out << "(error) " << reply.str;
      break;
    case RedisReply::Type::kInteger:
      *out << "(integer) " << reply.integer;
      break;
    case RedisReply::Type::kArray:
      *out << '[';
      for (size_t i = 0; i < reply.elements.size(); ++i) {
        *out << (i == 0 ? "" : ", ");
        PrintTo(reply.elements[i], out);
      }
      *out << ']';
      break;
  }
}

TestRedis::TestRedis(TestEnv env, redisContext* context, int base_db)
    : env_(std::move(env)), context_(context), base_db_(base_db) {}

std::unique_ptr<TestRedis> TestRedis::Create() { return Create(TestEnv::Get()); }

std::unique_ptr<TestRedis> TestRedis::Create(const TestEnv& env) {
  redisContext* context = Connect(env);
  std::unique_ptr<TestRedis> redis(new TestRedis(env, context, 0));
  redis->base_db_ = ProcessBaseDb(context, env);
  for (size_t i = 0; i < kInstances.size(); ++i) {
    redis->FlushDb(redis->base_db_ + static_cast<int>(i));
  }
  redis->LoadCommandFile(redis->db("group_member"),
                         std::string(DBPROXY_SOURCE_DIR) + "/etc/demo_redis.txt");
  redis->LoadCommandFile(redis->db("unread"),
                         std::string(DBPROXY_SOURCE_DIR) + "/etc/demo_redis_unread.txt");
  return redis;
}

TestRedis::~TestRedis() { redisFree(context_); }

void TestRedis::Reconnect() {
  redisFree(context_);
  context_ = nullptr;
  context_ = Connect(env_);
  selected_db_ = 0;
}

void TestRedis::Reconnect(uint16_t port) {
  env_.redis_port = port;
  Reconnect();
}

int TestRedis::db(std::string_view instance) const {
  for (size_t i = 0; i < kInstances.size(); ++i) {
    if (kInstances[i] == instance) {
      return base_db_ + static_cast<int>(i);
    }
  }
  Fail("TestRedis::db: unknown Redis instance '" + std::string(instance) + "'");
}

void TestRedis::Select(int db) {
  if (db == selected_db_) {
    return;
  }
  AppendArgv(context_, {"SELECT", std::to_string(db)});
  ReplyPtr reply = ReadReply(context_);
  if (reply->type != REDIS_REPLY_STATUS) {
    Fail("Redis: SELECT " + std::to_string(db) + " failed: " + Copy(*reply).str);
  }
  selected_db_ = db;
}

RedisReply TestRedis::CommandArgv(int db, const std::vector<std::string>& argv) {
  Select(db);
  AppendArgv(context_, argv);
  return Copy(*ReadReply(context_));
}

void TestRedis::FlushDb(int db) {
  RedisReply reply = CommandArgv(db, {"FLUSHDB"});
  if (reply.type != RedisReply::Type::kStatus) {
    Fail("Redis: FLUSHDB in db " + std::to_string(db) + " failed: " + reply.str);
  }
}

void TestRedis::LoadCommandFile(int db, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    Fail("cannot read " + path);
  }
  Select(db);
  // Pipelined: queue every line, then read one reply per line.
  std::vector<int> line_numbers;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::optional<std::vector<std::string>> args = SplitCommandLine(line);
    if (!args) {
      Fail(path + ":" + std::to_string(number) + ": unterminated quote");
    }
    if (args->empty() || args->front().starts_with('#')) {
      continue;
    }
    if (args->front() == "SELECT" || args->front() == "select") {
      Fail(path + ":" + std::to_string(number) +
           ": SELECT is not allowed; the loader picks the db");
    }
    AppendArgv(context_, *args);
    line_numbers.push_back(number);
  }
  for (int number : line_numbers) {
    ReplyPtr reply = ReadReply(context_);
    if (reply->type == REDIS_REPLY_ERROR) {
      Fail(path + ":" + std::to_string(number) + ": " + Copy(*reply).str);
    }
  }
}

}  // namespace dbproxy::testing
