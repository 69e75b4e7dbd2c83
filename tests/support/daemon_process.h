#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/test_env.h"

namespace dbproxy::testing {

class TestDatabase;
class TestRedis;

// What to run in a DaemonProcess; see DaemonProcess::Start().
struct DaemonOptions {
  std::vector<std::string> plugins;  // plugins.enabled, e.g. {"message", "unread"}
  // YAML text placed under plugins.modules, e.g. "message:\n  max_msg_cnt: 50\n".
  std::string extra_yaml_modules;
  // Extra YAML lines under server:, e.g. "idle_timeout_ms: 500\n". Must not repeat
  // listen or workers.
  std::string server_overrides;
  int workers = 8;  // also the size of each MySQL pool
  // server.listen, one "host:port" each (port 0: a free one; ports() reports them in order).
  std::vector<std::string> listen = {"127.0.0.1:0"};
  // Extra YAML lines under admin:, e.g. "socket_group: users\n". Must not repeat socket or
  // metrics_listen.
  std::string admin_overrides;
  // Per-pool changes to the mysql section, keyed by pool name ("teamtalk_master"): a port
  // other than the test MariaDB's (e.g. a tests/support/tcp_proxy.h in front of it; 0 keeps
  // it) and extra YAML lines under the pool, e.g. "read_timeout_ms: 1000\n". The lines must
  // not repeat host, port, user, password, database or pool_size. host, user and password,
  // when set, replace the test MariaDB's (e.g. "localhost", a user created REQUIRE SSL).
  struct MysqlPoolOverride {
    uint16_t port = 0;
    std::string yaml;
    std::optional<std::string> host = std::nullopt;
    std::optional<std::string> user = std::nullopt;
    std::optional<std::string> password = std::nullopt;
  };
  std::map<std::string, MysqlPoolOverride> mysql_overrides;
  // Per-instance Redis port, keyed by instance name ("unread"), e.g. a TcpProxy in front of
  // the test Redis. Instances not named use the test Redis directly.
  std::map<std::string, uint16_t> redis_ports;
  // If set, every Redis instance is found through Sentinel: these flow-mapping entries
  // replace host and port, e.g. "sentinels: [\"127.0.0.1:26379\"], master_name: m" (db stays
  // the TestRedis block's).
  std::string redis_via_sentinel;
  std::string plugin_dir = DBPROXY_PLUGIN_DIR;
  int ready_timeout_ms = 20000;
};

// A real dbproxyd (the one built next to the tests) running against a TestDatabase and a
// TestRedis, with its config, log, admin socket and plugin staging area in a fresh temp dir.
//
// Start() writes the config (listen 127.0.0.1:0, metrics 127.0.0.1:0, log level debug to
// <dir>/dbproxyd.log), spawns `dbproxyd -c <dir>/dbproxyd.yaml --ready-file <dir>/ready` in its
// own process group, and waits for the ready file, which dbproxyd writes atomically once it
// is listening:
//   listen 127.0.0.1:<port>     one line per listener
//   metrics 127.0.0.1:<port>    if metrics are enabled
//   admin <socket path>         if the admin socket is enabled
// dbproxyd's stdout and stderr (sanitizer reports land there) go to <dir>/stderr.log.
//
// The destructor stops a running daemon and removes the temp dir, unless the test failed or
// DBPROXY_TEST_KEEP=1 (then the path is printed). Thread rule: one thread at a time.
class DaemonProcess {
 public:
  // Defined outside the class only so it can be a default argument here.
  using Options = DaemonOptions;

  DaemonProcess() = default;
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Spawn() and then WaitReady(). On failure records a test failure that includes the tail
  // of the daemon's log and stderr, stops the process, and returns false:
  //   ASSERT_TRUE(daemon.Start(*db, *redis, options));
  // May be called again after Stop() (same temp dir, logs appended).
  [[nodiscard]] bool Start(const TestDatabase& database, const TestRedis& redis,
                           Options options = {});

  // Writes the config and spawns dbproxyd without waiting, for tests that expect start-up
  // to fail (follow with WaitExit() and ReadLog()). False (and a test failure) if the
  // process cannot be spawned.
  [[nodiscard]] bool Spawn(const TestDatabase& database, const TestRedis& redis,
                           Options options = {});

  // Waits for the ready file and reads it. False if the daemon exits first or the timeout
  // passes; records no failure (Start() does).
  [[nodiscard]] bool WaitReady(int timeout_ms);

  // Rewrites the config file with new options (same database and Redis), e.g. before
  // Signal(SIGHUP) in reload tests. REQUIRES: Start() or Spawn() was called.
  void RewriteConfig(const Options& options);

  // Sends a signal to the daemon (no-op if it is not running).
  void Signal(int signal_number);

  // SIGTERM, wait up to 10 s, then SIGKILL. Returns the exit status: the exit code, or
  // 128 + signal number if a signal ended it. Stopping a stopped daemon returns its status.
  int Stop();

  // Waits up to timeout_ms for the daemon to exit by itself; its status, or nullopt if it is
  // still running.
  std::optional<int> WaitExit(int timeout_ms);

  // The whole of dbproxyd.log (log lines written so far).
  std::string ReadLog() const;
  // dbproxyd's stdout and stderr so far (config errors found before the log is set up).
  std::string ReadStderr() const;

  uint16_t port() const { return ports_.empty() ? 0 : ports_.front(); }
  const std::vector<uint16_t>& ports() const { return ports_; }
  uint16_t metrics_port() const { return metrics_port_; }  // 0 if not reported
  const std::string& admin_socket() const { return admin_socket_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& log_path() const { return log_path_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }  // 0 when not running
  bool running() const { return pid_ > 0; }

 private:
  struct Target {
    TestEnv env;
    std::string database;
    std::array<int, 5> redis_dbs{};  // in TestRedis::kInstances order
  };

  void EnsureDir();
  void WriteConfig(const Options& options);
  bool ReadReadyFile();
  std::string DescribeFailure(const std::string& what) const;

  std::string dir_;
  std::string config_path_;
  std::string log_path_;
  std::string stderr_path_;
  std::string ready_path_;
  Target target_;
  pid_t pid_ = 0;
  std::optional<int> exit_status_;
  std::vector<uint16_t> ports_;
  uint16_t metrics_port_ = 0;
  std::string admin_socket_;
};

// Spawns dbproxyd with options that start-up must refuse: records a test failure unless it
// exits non-zero within 20 s and its log or stderr contains reason. For config-validation tests.
void ExpectStartupRefused(const TestDatabase& database, const TestRedis& redis,
                          const DaemonOptions& options, const std::string& reason);

}  // namespace dbproxy::testing
