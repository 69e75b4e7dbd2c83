#include "tests/support/daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"

extern char** environ;

namespace dbproxy::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Polling interval while waiting for the ready file or an exit; the harness may poll, the
// tests themselves never sleep.
constexpr auto kPollInterval = std::chrono::milliseconds(10);
constexpr int kStopTimeoutMs = 10000;

// A YAML double-quoted scalar (JSON string rules, which YAML accepts).
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  return out + "\"";
}

// Each non-empty line of text, indented by `spaces`, newline-terminated.
std::string Indent(std::string_view text, int spaces) {
  std::string out;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) {
      out += std::string(spaces, ' ') + line;
    }
    out += '\n';
  }
  return out;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Tail(const std::string& path, size_t max_lines) {
  std::istringstream in(ReadWholeFile(path));
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > max_lines) {
      lines.pop_front();
    }
  }
  std::string out;
  for (const std::string& line : lines) {
    out += line + '\n';
  }
  return out;
}

// The exit status in shell convention: the code, or 128 + the signal.
int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

std::optional<uint16_t> ParsePort(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  char* end = nullptr;
  long port = std::strtol(address.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

}  // namespace

DaemonProcess::~DaemonProcess() {
  if (running()) {
    (void)Stop();  // the status matters only to tests that call Stop() themselves
  }
  if (dir_.empty()) {
    return;
  }
  if (KeepTestState() || ::testing::Test::HasFailure()) {
    std::cerr << "dbproxyd test files kept in " << dir_ << "\n";
    return;
  }
  std::error_code ignored;  // a leftover temp dir is harmless
  std::filesystem::remove_all(dir_, ignored);
}

void DaemonProcess::EnsureDir() {
  if (!dir_.empty()) {
    return;
  }
  const char* tmp = std::getenv("TMPDIR");
  // Short paths: the admin socket path must fit in sun_path (108 bytes).
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/dbproxy-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp(" << pattern << "): " << std::strerror(errno);
    throw std::runtime_error("cannot create a temp dir for dbproxyd");
  }
  dir_ = pattern;
  config_path_ = dir_ + "/dbproxyd.yaml";
  log_path_ = dir_ + "/dbproxyd.log";
  stderr_path_ = dir_ + "/stderr.log";
  ready_path_ = dir_ + "/ready";
  std::filesystem::create_directories(dir_ + "/staged");
}

void DaemonProcess::WriteConfig(const Options& options) {
  const TestEnv& env = target_.env;
  std::ostringstream yaml;
  yaml << "# Written by tests/support/daemon_process.cc\n"
       << "server:\n"
       << "  listen: [";
  for (size_t i = 0; i < options.listen.size(); ++i) {
    yaml << (i == 0 ? "" : ", ") << Quote(options.listen[i]);
  }
  yaml << "]\n"
       << "  workers: " << options.workers << "\n"
       << Indent(options.server_overrides, 2) << "mysql:\n";
  for (const char* pool : {"teamtalk_master", "teamtalk_slave"}) {
    auto found = options.mysql_overrides.find(pool);
    const DaemonOptions::MysqlPoolOverride* change =
        found == options.mysql_overrides.end() ? nullptr : &found->second;
    yaml << "  " << pool << ":\n"
         << "    host: "
         << Quote(change != nullptr && change->host ? *change->host : env.mysql_host) << "\n"
         << "    port: " << (change != nullptr && change->port != 0 ? change->port : env.mysql_port)
         << "\n"
         << "    user: "
         << Quote(change != nullptr && change->user ? *change->user : env.mysql_user) << "\n"
         << "    password: "
         << Quote(change != nullptr && change->password ? *change->password : env.mysql_password)
         << "\n"
         << "    database: " << Quote(target_.database) << "\n"
         << "    pool_size: " << options.workers << "\n";
    if (change != nullptr) {
      yaml << Indent(change->yaml, 4);
    }
  }
  yaml << "redis:\n";
  for (size_t i = 0; i < TestRedis::kInstances.size(); ++i) {
    auto port = options.redis_ports.find(std::string(TestRedis::kInstances[i]));
    yaml << "  " << TestRedis::kInstances[i] << ": { ";
    if (!options.redis_via_sentinel.empty()) {
      yaml << options.redis_via_sentinel;
    } else {
      yaml << "host: " << Quote(env.redis_host)
           << ", port: " << (port == options.redis_ports.end() ? env.redis_port : port->second);
    }
    yaml << ", db: " << target_.redis_dbs[i] << " }\n";
  }
  yaml << "plugins:\n"
       << "  directory: " << Quote(options.plugin_dir) << "\n"
       << "  staging_directory: " << Quote(dir_ + "/staged") << "\n"
       << "  enabled: [";
  for (size_t i = 0; i < options.plugins.size(); ++i) {
    yaml << (i == 0 ? "" : ", ") << Quote(options.plugins[i]);
  }
  yaml << "]\n";
  if (options.extra_yaml_modules.empty()) {
    yaml << "  modules: {}\n";
  } else {
    yaml << "  modules:\n" << Indent(options.extra_yaml_modules, 4);
  }
  yaml << "log:\n"
       << "  level: debug\n"
       << "  file: " << Quote(log_path_) << "\n"
       << "admin:\n"
       << "  socket: " << Quote(dir_ + "/admin.sock") << "\n"
       << "  metrics_listen: \"127.0.0.1:0\"\n"
       << Indent(options.admin_overrides, 2);

  // Write then rename, so a daemon reloading on SIGHUP never reads half a file.
  std::string temp_path = config_path_ + ".tmp";
  {
    std::ofstream out(temp_path, std::ios::trunc);
    out << yaml.str();
    if (!out.flush()) {
      ADD_FAILURE() << "cannot write " << temp_path;
      throw std::runtime_error("cannot write the dbproxyd config");
    }
  }
  std::filesystem::rename(temp_path, config_path_);
}

void DaemonProcess::RewriteConfig(const Options& options) {
  if (target_.database.empty()) {
    ADD_FAILURE() << "DaemonProcess::RewriteConfig before Start(): no database to point at";
    throw std::runtime_error("DaemonProcess::RewriteConfig before Start()");
  }
  WriteConfig(options);
}

bool DaemonProcess::Spawn(const TestDatabase& database, const TestRedis& redis, Options options) {
  if (running()) {
    ADD_FAILURE() << "DaemonProcess::Spawn: dbproxyd is already running (pid " << pid_ << ")";
    return false;
  }
  EnsureDir();
  target_.env = database.env();
  target_.env.redis_host = redis.env().redis_host;
  target_.env.redis_port = redis.env().redis_port;
  target_.database = database.name();
  for (size_t i = 0; i < TestRedis::kInstances.size(); ++i) {
    target_.redis_dbs[i] = redis.db(TestRedis::kInstances[i]);
  }
  WriteConfig(options);
  std::filesystem::remove(ready_path_);
  ports_.clear();
  metrics_port_ = 0;
  admin_socket_.clear();
  exit_status_.reset();

  std::string binary = std::string(DBPROXY_BINARY_DIR) + "/core/dbproxyd";
  std::vector<std::string> args = {binary, "-c", config_path_, "--ready-file", ready_path_};
  std::vector<char*> argv;
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);

  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, stderr_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);

  // Own process group (a Ctrl-C on ctest reaches it only through us), default signal
  // dispositions and an empty mask whatever the test process set for itself.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  posix_spawnattr_setsigmask(&attributes, &empty_mask);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  pid_t pid = 0;
  int error = posix_spawn(&pid, binary.c_str(), &files, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) {
    ADD_FAILURE() << "cannot start " << binary << ": " << std::strerror(error);
    return false;
  }
  pid_ = pid;
  return true;
}

bool DaemonProcess::WaitReady(int timeout_ms) {
  Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    // rename() makes the file appear whole, so existing means complete.
    if (std::filesystem::exists(ready_path_)) {
      return ReadReadyFile();
    }
    if (WaitExit(0)) {
      return false;
    }
    if (Clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

bool DaemonProcess::ReadReadyFile() {
  std::istringstream lines(ReadWholeFile(ready_path_));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string key;
    std::string value;
    words >> key >> value;
    if (key == "listen") {
      std::optional<uint16_t> port = ParsePort(value);
      if (!port) {
        return false;
      }
      ports_.push_back(*port);
    } else if (key == "metrics") {
      metrics_port_ = ParsePort(value).value_or(0);
    } else if (key == "admin") {
      admin_socket_ = value;
    }
    // Other keys are for newer harnesses; ignoring them keeps old tests working.
  }
  return !ports_.empty();
}

bool DaemonProcess::Start(const TestDatabase& database, const TestRedis& redis, Options options) {
  int ready_timeout_ms = options.ready_timeout_ms;
  if (!Spawn(database, redis, std::move(options))) {
    return false;
  }
  if (WaitReady(ready_timeout_ms)) {
    return true;
  }
  std::string what;
  if (exit_status_) {
    what = "dbproxyd exited with status " + std::to_string(*exit_status_) + " before it was ready";
  } else if (std::filesystem::exists(ready_path_)) {
    what = "dbproxyd wrote an unreadable ready file " + ready_path_ + ":\n" +
           ReadWholeFile(ready_path_);
  } else {
    what = "dbproxyd was not ready within " + std::to_string(ready_timeout_ms) + " ms";
  }
  if (running()) {
    // Not ready in time: nothing to drain, and Stop() would describe the failure twice.
    kill(-pid_, SIGKILL);
    (void)WaitExit(kStopTimeoutMs);
  }
  ADD_FAILURE() << DescribeFailure(what);
  return false;
}

void DaemonProcess::Signal(int signal_number) {
  if (running()) {
    kill(pid_, signal_number);
  }
}

std::optional<int> DaemonProcess::WaitExit(int timeout_ms) {
  if (!running()) {
    return exit_status_;
  }
  Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int status = 0;
    pid_t result = waitpid(pid_, &status, WNOHANG);
    if (result == pid_ || (result < 0 && errno != EINTR)) {
      exit_status_ = result == pid_ ? DecodeWaitStatus(status) : -1;
      pid_ = 0;
      return exit_status_;
    }
    if (Clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

int DaemonProcess::Stop() {
  if (!running()) {
    return exit_status_.value_or(-1);
  }
  pid_t pid = pid_;
  kill(pid, SIGTERM);
  std::optional<int> status = WaitExit(kStopTimeoutMs);
  if (!status) {
    std::cerr << "dbproxyd (pid " << pid << ") ignored SIGTERM for " << kStopTimeoutMs
              << " ms; killing it\n";
    kill(-pid, SIGKILL);  // the whole group, in case it left children behind
    status = WaitExit(kStopTimeoutMs);
  }
  if (status.value_or(-1) != 0) {
    // Crashes and sanitizer reports end up here; show them next to the test's failure.
    std::cerr << DescribeFailure("dbproxyd exited with status " +
                                 std::to_string(status.value_or(-1)));
  }
  return status.value_or(-1);
}

std::string DaemonProcess::ReadLog() const { return ReadWholeFile(log_path_); }

std::string DaemonProcess::ReadStderr() const { return ReadWholeFile(stderr_path_); }

std::string DaemonProcess::DescribeFailure(const std::string& what) const {
  return what + "\n---- tail of " + log_path_ + " ----\n" + Tail(log_path_, 40) + "---- tail of " +
         stderr_path_ + " ----\n" + Tail(stderr_path_, 60) + "----\n";
}

void ExpectStartupRefused(const TestDatabase& database, const TestRedis& redis,
                          const DaemonOptions& options, const std::string& reason) {
  DaemonProcess broken;
  ASSERT_TRUE(broken.Spawn(database, redis, options));
  std::optional<int> status = broken.WaitExit(20000);
  ASSERT_TRUE(status.has_value()) << options.extra_yaml_modules << ": still running";
  EXPECT_NE(*status, 0) << options.extra_yaml_modules;
  const std::string output = broken.ReadLog() + broken.ReadStderr();
  EXPECT_NE(output.find(reason), std::string::npos) << options.extra_yaml_modules << output;
}

}  // namespace dbproxy::testing
