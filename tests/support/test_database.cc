#include "tests/support/test_database.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <mysql.h>

namespace dbproxy::testing {
namespace {

// Demo data is ~200 KB of INSERTs; a generous read timeout covers a slow CI disk.
constexpr unsigned kConnectTimeoutS = 10;
constexpr unsigned kReadWriteTimeoutS = 120;

[[noreturn]] void Fail(const std::string& message) {
  ADD_FAILURE() << message;
  throw std::runtime_error(message);
}

std::string Abbreviate(std::string_view sql) {
  constexpr size_t kMax = 200;
  return sql.size() <= kMax ? std::string(sql) : std::string(sql.substr(0, kMax)) + "...";
}

// `what` names the SQL for the message: the statement itself, or the file it came from.
[[noreturn]] void FailSql(MYSQL* connection, std::string_view what) {
  Fail("MariaDB error " + std::to_string(mysql_errno(connection)) + " (" + mysql_error(connection) +
       ") running: " + std::string(what));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Fail("cannot read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

MYSQL* Connect(const TestEnv& env) {
  MYSQL* connection = mysql_init(nullptr);
  if (connection == nullptr) {
    Fail("mysql_init failed (out of memory)");
  }
  unsigned connect_timeout = kConnectTimeoutS;
  unsigned io_timeout = kReadWriteTimeoutS;
  mysql_options(connection, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  mysql_options(connection, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
  mysql_options(connection, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
  mysql_options(connection, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (mysql_real_connect(connection, env.mysql_host.c_str(), env.mysql_user.c_str(),
                         env.mysql_password.c_str(), nullptr, env.mysql_port, nullptr,
                         CLIENT_MULTI_STATEMENTS) == nullptr) {
    std::string error = mysql_error(connection);
    mysql_close(connection);
    Fail("cannot connect to MariaDB at " + env.mysql_host + ":" + std::to_string(env.mysql_port) +
         " as " + env.mysql_user + ": " + error + " (is tools/test running its MariaDB?)");
  }
  return connection;
}

// Sends sql and reads every result set; rows of the first one with columns go to *rows
// (if not null). A failing statement stops the batch, as in the mariadb client. `what`
// names the SQL in failure messages; empty means the SQL text itself.
void Run(MYSQL* connection, std::string_view sql, std::vector<TestDatabase::Row>* rows,
         std::string what = {}) {
  if (what.empty()) {
    what = Abbreviate(sql);
  }
  if (mysql_real_query(connection, sql.data(), sql.size()) != 0) {
    FailSql(connection, what);
  }
  bool rows_taken = false;
  while (true) {
    MYSQL_RES* result = mysql_store_result(connection);
    if (result != nullptr) {
      unsigned columns = mysql_num_fields(result);
      while (MYSQL_ROW row = mysql_fetch_row(result)) {
        if (rows == nullptr || rows_taken) {
          continue;
        }
        unsigned long* lengths = mysql_fetch_lengths(result);
        TestDatabase::Row values;
        values.reserve(columns);
        for (unsigned i = 0; i < columns; ++i) {
          if (row[i] == nullptr) {
            values.emplace_back(std::nullopt);
          } else {
            values.emplace_back(std::string(row[i], lengths[i]));
          }
        }
        rows->push_back(std::move(values));
      }
      mysql_free_result(result);
      rows_taken = true;
    } else if (mysql_field_count(connection) != 0) {
      FailSql(connection, what);  // a result set was due but could not be read
    }
    int next = mysql_next_result(connection);
    if (next > 0) {
      FailSql(connection, what);
    }
    if (next < 0) {
      return;
    }
  }
}

std::string NextDatabaseName() {
  static std::atomic<int> counter{0};
  return "dbp_t_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
}

}  // namespace

TestDatabase::TestDatabase(TestEnv env, std::string name, MYSQL* connection)
    : env_(std::move(env)), name_(std::move(name)), connection_(connection) {}

std::unique_ptr<TestDatabase> TestDatabase::Create() { return Create(TestEnv::Get()); }

std::unique_ptr<TestDatabase> TestDatabase::Create(const TestEnv& env) {
  std::string name = NextDatabaseName();
  MYSQL* connection = Connect(env);
  // From here the destructor closes the connection (and drops the database) even if the
  // schema fails to load.
  std::unique_ptr<TestDatabase> database(new TestDatabase(env, name, connection));
  // A database left by an earlier process with the same pid (after a crash) is replaced.
  database->Exec("DROP DATABASE IF EXISTS `" + name + "`; CREATE DATABASE `" + name +
                 "` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci");
  if (mysql_select_db(connection, name.c_str()) != 0) {
    FailSql(connection, "USE " + name);
  }
  database->ExecFile(std::string(DBPROXY_SOURCE_DIR) + "/etc/schema.sql");
  // One transaction for the demo rows: a commit per INSERT means an fsync per INSERT.
  database->Exec("SET autocommit=0");
  database->ExecFile(std::string(DBPROXY_SOURCE_DIR) + "/etc/demo_data.sql");
  database->Exec("COMMIT; SET autocommit=1");
  return database;
}

void TestDatabase::Reconnect() {
  mysql_close(connection_);
  connection_ = Connect(env_);
  if (mysql_select_db(connection_, name_.c_str()) != 0) {
    FailSql(connection_, "USE " + name_);
  }
}

TestDatabase::~TestDatabase() {
  if (!KeepTestState()) {
    std::string sql = "DROP DATABASE IF EXISTS `" + name_ + "`";
    if (mysql_real_query(connection_, sql.data(), sql.size()) != 0) {
      // Not fatal for the test that already ran; the next run replaces stale databases
      // only by pid, so say which one is left.
      ADD_FAILURE() << "could not drop test database " << name_ << ": " << mysql_error(connection_);
    }
  }
  mysql_close(connection_);
}

std::vector<TestDatabase::Row> TestDatabase::Query(std::string_view sql) {
  std::vector<Row> rows;
  Run(connection_, sql, &rows);
  return rows;
}

std::optional<std::string> TestDatabase::QueryValue(std::string_view sql) {
  std::vector<Row> rows = Query(sql);
  if (rows.empty() || rows.front().empty()) {
    return std::nullopt;
  }
  return rows.front().front();
}

void TestDatabase::Exec(std::string_view sql) { Run(connection_, sql, nullptr); }

void TestDatabase::ExecFile(const std::string& path) {
  Run(connection_, ReadFile(path), nullptr, "a statement in " + path);
}

}  // namespace dbproxy::testing
