#pragma once

#include <cstdint>
#include <string>

namespace dbproxy::testing {

// Where the private MariaDB and Redis that tools/test starts can be reached. tools/test
// exports these as DBPROXY_TEST_* variables; a plain value, copy freely, any thread.
struct TestEnv {
  std::string mysql_host;      // DBPROXY_TEST_MYSQL_HOST, "127.0.0.1"
  uint16_t mysql_port = 0;     // DBPROXY_TEST_MYSQL_PORT
  std::string mysql_user;      // DBPROXY_TEST_MYSQL_USER
  std::string mysql_password;  // DBPROXY_TEST_MYSQL_PASSWORD (may be empty)
  std::string mysql_socket;    // DBPROXY_TEST_MYSQL_SOCKET
  std::string redis_host = "127.0.0.1";
  uint16_t redis_port = 0;  // DBPROXY_TEST_REDIS_PORT

  // Reads the variables once per process. A missing or malformed variable records a test
  // failure that says "run tools/test" and throws, which ends the current test (googletest
  // reports the exception); the suites never skip for want of services.
  static const TestEnv& Get();
};

// True if DBPROXY_TEST_KEEP=1: keep test databases and daemon temp dirs for inspection.
bool KeepTestState();

}  // namespace dbproxy::testing
