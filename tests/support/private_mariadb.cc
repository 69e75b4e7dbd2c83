#include "tests/support/private_mariadb.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <mysql.h>

namespace dbproxy::testing {
namespace {

constexpr int kReadyTimeoutMs = 90000;
constexpr int kStopTimeoutMs = 60000;
constexpr int kStartAttempts = 3;  // a picked port can be taken before mariadbd binds it

[[noreturn]] void Fail(const std::string& message) {
  ADD_FAILURE() << message;
  throw std::runtime_error(message);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) {
    Fail("cannot write " + path);
  }
}

// Quotes text as the body of an SQL string literal.
std::string SqlQuote(const std::string& text) {
  std::string quoted;
  for (char c : text) {
    if (c == '\\' || c == '\'') {
      quoted += '\\';
    }
    quoted += c;
  }
  return quoted;
}

std::string RunAsLine() { return geteuid() == 0 ? "user=root\n" : ""; }

// Settings every private server shares, the template's install included: the redo log size
// must match the data directory the copy starts from.
std::string CommonServerLines() {
  return RunAsLine() +
         "innodb_buffer_pool_size=64M\n"
         "innodb_log_file_size=16M\n"
         "character-set-server=utf8mb4\n";
}

// The template data directory, installed once per machine (per mariadbd binary) and
// copied for every server; the lock makes parallel test processes wait for one install.
std::string TemplateDataDir() {
  struct stat binary {};
  long long stamp = stat("/usr/sbin/mariadbd", &binary) == 0 ? binary.st_mtime : 0;
  const char* tmp = std::getenv("TMPDIR");
  std::string base = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                     "/dbproxy-test-mariadb-template-" + std::to_string(geteuid()) + "-" +
                     std::to_string(stamp);
  std::string data = base + "/data";
  std::string done = base + "/installed";
  std::filesystem::create_directories(base);
  int lock = open((base + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || flock(lock, LOCK_EX) != 0) {
    Fail("cannot lock " + base + ".lock");
  }
  if (!std::filesystem::exists(done)) {
    RemoveTree(data);
    std::string config = base + "/my.cnf";
    WriteFile(config, "[mysqld]\n" + CommonServerLines() + "datadir=" + data + "\n");
    ChildProcess install;
    std::string error;
    std::string log = base + "/install.log";
    if (!install.Spawn({"mariadb-install-db", "--defaults-file=" + config,
                        "--auth-root-authentication-method=normal", "--skip-test-db"},
                       log, &error)) {
      Fail(error);
    }
    std::optional<int> status = install.WaitExit(180000);
    if (status != 0) {
      Fail("mariadb-install-db failed:\n" + TailOfFile(log, 30));
    }
    WriteFile(done, "");
  }
  close(lock);
  return data;
}

bool RootAnswersOverTcp(uint16_t port, const std::string& password) {
  MYSQL* connection = mysql_init(nullptr);
  unsigned timeout_s = 2;
  mysql_options(connection, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
  bool ok = mysql_real_connect(connection, "127.0.0.1", "root", password.c_str(), nullptr, port,
                               nullptr, 0) != nullptr;
  mysql_close(connection);
  return ok;
}

}  // namespace

std::unique_ptr<PrivateMariadb> PrivateMariadb::Start(Options options) {
  std::string template_data = TemplateDataDir();
  std::unique_ptr<PrivateMariadb> server(new PrivateMariadb());
  server->options_ = std::move(options);
  server->dir_ = MakeTempDir("dbp-mdb-");
  server->config_path_ = server->dir_ + "/my.cnf";
  server->socket_path_ = server->dir_ + "/mysqld.sock";
  server->log_path_ = server->dir_ + "/mariadb.log";
  std::error_code error;
  std::filesystem::copy(template_data, server->dir_ + "/data",
                        std::filesystem::copy_options::recursive, error);
  if (error) {
    Fail("cannot copy " + template_data + ": " + error.message());
  }
  // root over TCP with the tools/test password, set on every start (idempotent, and kept
  // out of the binlog so a replica does not apply its primary's copy).
  std::string password = SqlQuote(TestEnv::Get().mysql_password);
  WriteFile(server->dir_ + "/init.sql",
            "SET sql_log_bin=0;\n"
            "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';\n"
            "ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '" +
                password +
                "';\n"
                "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n"
                "ALTER USER 'root'@'localhost' IDENTIFIED BY '" +
                password + "';\n");
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    server->port_ = PickFreeLoopbackPort();
    if (server->Launch()) {
      return server;
    }
  }
  Fail("mariadbd did not start in " + std::to_string(kStartAttempts) + " attempts:\n" +
       TailOfFile(server->log_path_, 40));
}

PrivateMariadb::~PrivateMariadb() {
  if (process_.running()) {
    process_.Kill();
  }
  if (!KeepTestState()) {
    RemoveTree(dir_);
  } else {
    std::printf("kept private MariaDB dir %s\n", dir_.c_str());
  }
}

void PrivateMariadb::WriteConfig() {
  WriteFile(config_path_,
            "# Written by tests/support/private_mariadb.cc on every start.\n"
            "[mysqld]\n" +
                CommonServerLines() + "datadir=" + dir_ + "/data\nsocket=" + socket_path_ +
                "\npid-file=" + dir_ + "/mysqld.pid\nport=" + std::to_string(port_) +
                "\nbind-address=127.0.0.1\nskip-name-resolve\n"
                "innodb_flush_log_at_trx_commit=1\nmax_connections=500\n"
                "init-file=" +
                dir_ + "/init.sql\n" + options_.extra_config + "\n");
}

bool PrivateMariadb::Launch() {
  WriteConfig();
  std::string error;
  // --log-error is left unset, so the server logs to stderr, which is log_path_.
  if (!process_.Spawn({"mariadbd", "--defaults-file=" + config_path_}, log_path_, &error)) {
    Fail(error);
  }
  const std::string& password = TestEnv::Get().mysql_password;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadyTimeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_.running()) {
      return false;
    }
    if (RootAnswersOverTcp(port_, password)) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  process_.Kill();
  Fail("mariadbd on port " + std::to_string(port_) + " did not answer within " +
       std::to_string(kReadyTimeoutMs / 1000) + " s:\n" + TailOfFile(log_path_, 40));
}

void PrivateMariadb::Stop() { process_.Stop(kStopTimeoutMs); }

void PrivateMariadb::Kill() { process_.Kill(); }

void PrivateMariadb::Restart() {
  if (process_.running()) {
    Fail("PrivateMariadb::Restart: the server is still running");
  }
  if (!Launch()) {
    Fail("mariadbd did not restart on port " + std::to_string(port_) + ":\n" +
         TailOfFile(log_path_, 40));
  }
}

TestEnv PrivateMariadb::env() const {
  TestEnv env = TestEnv::Get();
  env.mysql_host = "127.0.0.1";
  env.mysql_port = port_;
  env.mysql_socket = socket_path_;
  return env;
}

}  // namespace dbproxy::testing
