#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dbproxy::testing {

// A server process a test starts itself (mariadbd, redis-server, redis-sentinel): spawned in
// its own process group with stdin from /dev/null and stdout+stderr appended to a log file,
// so a test can stop, kill and restart it without touching the services of tools/test.
//
// The destructor kills a running child (SIGKILL) and reaps it. Thread rule: one thread at a
// time.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Spawns argv[0] (looked up in PATH) with argv. False, with the reason in *error, if the
  // program cannot be started. REQUIRES: not running.
  [[nodiscard]] bool Spawn(const std::vector<std::string>& argv, const std::string& log_path,
                           std::string* error);

  // Sends a signal to the whole process group (no-op if not running).
  void Signal(int signal_number);

  // Waits up to timeout_ms for the process to exit; its status (exit code, or 128 + signal),
  // or nullopt if it is still running.
  std::optional<int> WaitExit(int timeout_ms);

  // SIGTERM, wait up to timeout_ms, then SIGKILL and wait. Returns the exit status.
  int Stop(int timeout_ms);

  // SIGKILL and wait: the process dies as on a power cut (no shutdown of its own).
  int Kill();

  // True while the process has not been reaped. Reaps it if it has exited meanwhile.
  bool running();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = 0;
  std::optional<int> exit_status_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released). Another
// process may take it before the caller binds it; the private servers retry on a busy port.
uint16_t PickFreeLoopbackPort();

// A fresh directory under $TMPDIR (or /tmp) named <prefix>XXXXXX; fails the test and throws
// if it cannot be made. Short, so unix socket paths inside it fit in sun_path.
std::string MakeTempDir(const std::string& prefix);

// Removes a directory tree (best effort).
void RemoveTree(const std::string& path);

// The last lines of a file, for failure messages ("" if it cannot be read).
std::string TailOfFile(const std::string& path, int lines);

}  // namespace dbproxy::testing
