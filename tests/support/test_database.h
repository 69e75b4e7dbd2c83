#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/test_env.h"

struct st_mysql;  // MYSQL in <mysql.h>

namespace dbproxy::testing {

// A fresh MariaDB database for one test (or one test suite), loaded with etc/schema.sql and
// etc/demo_data.sql, on the private MariaDB that tools/test starts. Dropped on destruction
// unless DBPROXY_TEST_KEEP=1.
//
// Query() and Exec() run plain SQL text for setting up and checking state in tests; the code
// under test uses prepared statements. Every failure (connect, load, SQL error) records a
// test failure naming the statement and throws, ending the current test.
//
// Thread rule: one thread at a time (it owns a single client connection).
class TestDatabase {
 public:
  using Row = std::vector<std::optional<std::string>>;  // nullopt is SQL NULL

  // Creates database dbp_t_<pid>_<counter> (utf8mb4) and loads the schema and demo data
  // (1000 users, departments 1-2, groups 1-4). Never returns null.
  static std::unique_ptr<TestDatabase> Create();
  // The same on another server, e.g. a tests/support/private_mariadb.h PrivateMariadb's env().
  static std::unique_ptr<TestDatabase> Create(const TestEnv& env);

  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  const TestEnv& env() const { return env_; }

  // Runs one statement (or several, separated by ';') and returns the rows of the first
  // result set; further result sets are read and discarded.
  std::vector<Row> Query(std::string_view sql);

  // The first column of the first row; nullopt if there is no row or the value is NULL.
  std::optional<std::string> QueryValue(std::string_view sql);

  // Runs statements that return no rows (several allowed, separated by ';').
  void Exec(std::string_view sql);

  // Closes the connection and opens a new one to the same database, e.g. after the test
  // restarted its private server. Fails the test (and throws) if the server does not answer.
  void Reconnect();

  // Runs an SQL file's text in this database (as the schema and demo data are loaded).
  void ExecFile(const std::string& path);

 private:
  TestDatabase(TestEnv env, std::string name, st_mysql* connection);

  TestEnv env_;
  std::string name_;
  st_mysql* connection_;  // owned; closed in the destructor
};

}  // namespace dbproxy::testing
