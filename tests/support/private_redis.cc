#include "tests/support/private_redis.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

namespace dbproxy::testing {
namespace {

constexpr int kReadyTimeoutMs = 30000;
constexpr int kStopTimeoutMs = 30000;
constexpr int kStartAttempts = 3;  // a picked port can be taken before redis-server binds it

[[noreturn]] void Fail(const std::string& message) {
  ADD_FAILURE() << message;
  throw std::runtime_error(message);
}

// True if something answers PING on the port with PONG (a password-protected server
// answers NOAUTH, which also proves it is up).
bool AnswersPing(uint16_t port) {
  timeval timeout{1, 0};
  redisContext* context = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (context == nullptr || context->err != 0) {
    redisFree(context);
    return false;
  }
  redisSetTimeout(context, timeout);
  auto* reply = static_cast<redisReply*>(redisCommand(context, "PING"));
  bool up = reply != nullptr &&
            (reply->type == REDIS_REPLY_STATUS ||
             (reply->type == REDIS_REPLY_ERROR && std::string(reply->str).rfind("NOAUTH", 0) == 0));
  freeReplyObject(reply);
  redisFree(context);
  return up;
}

}  // namespace

std::unique_ptr<PrivateRedis> PrivateRedis::Start(Options options) {
  std::unique_ptr<PrivateRedis> server(new PrivateRedis());
  server->options_ = std::move(options);
  server->dir_ = MakeTempDir(server->options_.sentinel ? "dbp-sen-" : "dbp-rds-");
  server->config_path_ = server->dir_ + "/redis.conf";
  server->log_path_ = server->dir_ + "/redis.log";
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    server->port_ = PickFreeLoopbackPort();
    std::ofstream config(server->config_path_, std::ios::trunc);
    config << "# Written by tests/support/private_redis.cc.\n"
           << "port " << server->port_ << "\nbind 127.0.0.1\ndir " << server->dir_
           << "\ndaemonize no\nlogfile \"\"\n";
    if (!server->options_.sentinel) {
      config << "databases 256\nsave \"\"\nappendonly no\n";
    }
    config << server->options_.extra_config << "\n";
    config.close();
    if (!config) {
      Fail("cannot write " + server->config_path_);
    }
    if (server->Launch()) {
      return server;
    }
  }
  Fail(std::string(server->options_.sentinel ? "redis-sentinel" : "redis-server") +
       " did not start in " + std::to_string(kStartAttempts) + " attempts:\n" +
       TailOfFile(server->log_path_, 30));
}

PrivateRedis::~PrivateRedis() {
  if (process_.running()) {
    process_.Kill();
  }
  if (!KeepTestState()) {
    RemoveTree(dir_);
  } else {
    std::printf("kept private Redis dir %s\n", dir_.c_str());
  }
}

bool PrivateRedis::Launch() {
  std::vector<std::string> argv = {"redis-server", config_path_};
  if (options_.sentinel) {
    argv.push_back("--sentinel");
  }
  std::string error;
  if (!process_.Spawn(argv, log_path_, &error)) {
    Fail(error);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadyTimeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_.running()) {
      return false;
    }
    if (AnswersPing(port_)) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  process_.Kill();
  Fail("Redis on port " + std::to_string(port_) + " did not answer within " +
       std::to_string(kReadyTimeoutMs / 1000) + " s:\n" + TailOfFile(log_path_, 30));
}

void PrivateRedis::Stop() { process_.Stop(kStopTimeoutMs); }

void PrivateRedis::Kill() { process_.Kill(); }

void PrivateRedis::ShutdownNoSave() {
  timeval timeout{5, 0};
  redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  if (context != nullptr && context->err == 0) {
    redisSetTimeout(context, timeout);
    // A successful SHUTDOWN has no reply: the connection just closes.
    freeReplyObject(redisCommand(context, "SHUTDOWN NOSAVE"));
  }
  redisFree(context);
  if (!process_.WaitExit(kStopTimeoutMs).has_value()) {
    Fail("Redis on port " + std::to_string(port_) + " did not exit after SHUTDOWN NOSAVE");
  }
}

void PrivateRedis::Restart() {
  if (process_.running()) {
    Fail("PrivateRedis::Restart: the server is still running");
  }
  if (!Launch()) {
    Fail("Redis did not restart on port " + std::to_string(port_) + ":\n" +
         TailOfFile(log_path_, 30));
  }
}

TestEnv PrivateRedis::env() const {
  TestEnv env = TestEnv::Get();
  env.redis_host = "127.0.0.1";
  env.redis_port = port_;
  return env;
}

}  // namespace dbproxy::testing
