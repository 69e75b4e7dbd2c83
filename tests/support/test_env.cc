#include "tests/support/test_env.h"

#include <charconv>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>

#include <gtest/gtest.h>

namespace dbproxy::testing {
namespace {

[[noreturn]] void FailMissing(std::string_view name, std::string_view problem) {
  std::string message = "environment variable " + std::string(name) + " " + std::string(problem) +
                        ": run tools/test (it starts MariaDB and Redis and exports DBPROXY_TEST_*)";
  ADD_FAILURE() << message;
  throw std::runtime_error(message);
}

std::string Require(const char* name, bool allow_empty = false) {
  const char* value = std::getenv(name);
  if (value == nullptr) {
    FailMissing(name, "is not set");
  }
  if (!allow_empty && *value == '\0') {
    FailMissing(name, "is empty");
  }
  return value;
}

uint16_t RequirePort(const char* name) {
  std::string text = Require(name);
  unsigned port = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
    FailMissing(name, "is not a port number ('" + text + "')");
  }
  return static_cast<uint16_t>(port);
}

TestEnv ReadEnvironment() {
  TestEnv env;
  env.mysql_host = Require("DBPROXY_TEST_MYSQL_HOST");
  env.mysql_port = RequirePort("DBPROXY_TEST_MYSQL_PORT");
  env.mysql_user = Require("DBPROXY_TEST_MYSQL_USER");
  env.mysql_password = Require("DBPROXY_TEST_MYSQL_PASSWORD", /*allow_empty=*/true);
  env.mysql_socket = Require("DBPROXY_TEST_MYSQL_SOCKET");
  env.redis_port = RequirePort("DBPROXY_TEST_REDIS_PORT");
  return env;
}

}  // namespace

const TestEnv& TestEnv::Get() {
  // Only a complete environment is cached, so every test that needs it fails alike.
  static std::mutex mu;
  static std::optional<TestEnv> cached;
  std::lock_guard lock(mu);
  if (!cached) {
    cached = ReadEnvironment();
  }
  return *cached;
}

bool KeepTestState() {
  const char* keep = std::getenv("DBPROXY_TEST_KEEP");
  return keep != nullptr && std::string_view(keep) == "1";
}

}  // namespace dbproxy::testing
