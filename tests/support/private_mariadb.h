#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/child_process.h"
#include "tests/support/test_env.h"

namespace dbproxy::testing {

// What to run in a PrivateMariadb.
struct PrivateMariadbOptions {
  // Lines appended under [mysqld] of its option file, e.g. "server_id=2\nlog_bin=binlog\n"
  // for replication or "ssl_ca=...\n" for TLS. Read again by every Restart().
  std::string extra_config;
};

// A mariadbd of the test's own on a free 127.0.0.1 port, with its data directory in a fresh
// temp dir, for tests that stop, kill, restart or replicate a server (the tools/test MariaDB
// is shared by every test running at the same moment and must never be stopped).
//
// The data directory is a copy of a template made once per machine with mariadb-install-db
// (under $TMPDIR, guarded by a file lock), so a start costs a copy and a server boot, not an
// install. root logs in over TCP with the tools/test password (DBPROXY_TEST_MYSQL_PASSWORD),
// so env() can be handed to TestDatabase::Create(env) and, through the database, to
// DaemonProcess. No database is created: TestDatabase::Create(env()) loads the schema.
//
// Failures (install, start, ready timeout) record a test failure with the tail of the
// server's log and throw, ending the current test. The destructor kills the server and
// removes the temp dir unless DBPROXY_TEST_KEEP=1. Thread rule: one thread at a time.
class PrivateMariadb {
 public:
  using Options = PrivateMariadbOptions;

  // Starts a fresh server and waits until root can log in over TCP. Never null.
  static std::unique_ptr<PrivateMariadb> Start(Options options = {});

  ~PrivateMariadb();
  PrivateMariadb(const PrivateMariadb&) = delete;
  PrivateMariadb& operator=(const PrivateMariadb&) = delete;

  // Clean shutdown (SIGTERM; InnoDB flushes), waiting up to 60 s.
  void Stop();
  // SIGKILL: the server dies without a shutdown, as on a crash; InnoDB recovers on restart.
  void Kill();
  // Starts the stopped server again on the same port and data directory (options may have
  // changed through set_extra_config) and waits until it answers.
  void Restart();
  bool running() { return process_.running(); }

  // Replaces the extra [mysqld] lines; takes effect at the next Restart().
  void set_extra_config(std::string extra_config) {
    options_.extra_config = std::move(extra_config);
  }

  // TestEnv::Get() with this server's port and socket: what TestDatabase::Create(env) needs.
  TestEnv env() const;
  uint16_t port() const { return port_; }
  const std::string& socket_path() const { return socket_path_; }
  const std::string& dir() const { return dir_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return process_.pid(); }

 private:
  PrivateMariadb() = default;
  void WriteConfig();
  // Spawns mariadbd and waits until root answers over TCP; false if it exited first (a
  // busy port is the usual reason), throws on a timeout.
  bool Launch();

  Options options_;
  std::string dir_;
  std::string config_path_;
  std::string socket_path_;
  std::string log_path_;
  uint16_t port_ = 0;
  ChildProcess process_;
};

}  // namespace dbproxy::testing
