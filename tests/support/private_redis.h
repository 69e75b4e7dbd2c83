#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/child_process.h"
#include "tests/support/test_env.h"

namespace dbproxy::testing {

// What to run in a PrivateRedis.
struct PrivateRedisOptions {
  // Run as a Sentinel (redis-server <config> --sentinel) instead of a data server.
  bool sentinel = false;
  // Lines appended to the config file, e.g. "replicaof 127.0.0.1 6400\n", "user app on
  // >secret ~* +@all\n", or for a sentinel "sentinel monitor m 127.0.0.1 6400 2\n".
  std::string extra_config;
};

// A redis-server (or redis-sentinel) of the test's own on a free 127.0.0.1 port, state in a
// fresh temp dir, for tests that restart, empty, fail over or replicate Redis (the tools/test
// Redis is shared by every test running at the same moment and must never be stopped or
// flushed as a whole).
//
// A data server has 256 databases (TestRedis takes blocks of five from 16 up), no RDB
// snapshots and no AOF, so SHUTDOWN NOSAVE or Kill() followed by Restart() brings it back
// empty. A sentinel rewrites its own config file; Restart() keeps that file.
//
// Failures (start, ready timeout) record a test failure with the tail of its log and throw.
// The destructor kills the process and removes the temp dir unless DBPROXY_TEST_KEEP=1.
// Thread rule: one thread at a time.
class PrivateRedis {
 public:
  using Options = PrivateRedisOptions;

  // Starts the server and waits until it answers PING. Never null.
  static std::unique_ptr<PrivateRedis> Start(Options options = {});

  ~PrivateRedis();
  PrivateRedis(const PrivateRedis&) = delete;
  PrivateRedis& operator=(const PrivateRedis&) = delete;

  // SIGTERM and wait (a data server saves nothing: no snapshots are configured).
  void Stop();
  // SIGKILL and wait.
  void Kill();
  // Starts the stopped process again on the same port and waits until it answers PING.
  // A data server comes back empty.
  void Restart();
  // SHUTDOWN NOSAVE over a connection of its own, then waits for the exit: the data is gone
  // and Restart() brings the server back empty.
  void ShutdownNoSave();
  // Waits for a process that exited by itself (e.g. after SHUTDOWN NOSAVE) to be reaped.
  // False if it is still running after timeout_ms.
  [[nodiscard]] bool WaitExit(int timeout_ms) { return process_.WaitExit(timeout_ms).has_value(); }
  bool running() { return process_.running(); }

  // TestEnv::Get() with this server as the Redis: what TestRedis::Create(env) needs.
  TestEnv env() const;
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return process_.pid(); }

 private:
  PrivateRedis() = default;
  // Spawns and waits for PING; false if the process exited first (a busy port).
  bool Launch();

  Options options_;
  std::string dir_;
  std::string config_path_;
  std::string log_path_;
  uint16_t port_ = 0;
  ChildProcess process_;
};

}  // namespace dbproxy::testing
