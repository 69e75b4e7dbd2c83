#include "plugins/login/config.h"

#include <cstdint>

namespace dbproxy::plugins::login {
namespace {

// Reads an integer key and checks it lies in [min, max].
sdk::Result<int64_t> ReadInt(sdk::Host& host, const char* key, int64_t def, int64_t min,
                             int64_t max) {
  auto v = host.ConfigInt(key, def);
  if (!v.ok()) {
    return v.status();
  }
  if (*v < min || *v > max) {
    return sdk::Status(DBP_E_CONFIG, sdk::StrCat("login.", key, " must be between ", min, " and ",
                                                 max, ", got ", *v));
  }
  return *v;
}

}  // namespace

sdk::Result<Config> LoadConfig(sdk::Host& host) {
  Config c;
  auto failures = ReadInt(host, "max_failures", 10, 1, 1000);
  if (!failures.ok()) {
    return failures.status();
  }
  auto window = ReadInt(host, "failure_window_seconds", 1800, 1, 7 * 24 * 3600);
  if (!window.ok()) {
    return window.status();
  }
  auto names = ReadInt(host, "limiter_max_names", 100000, 1, 100000000);
  if (!names.ok()) {
    return names.status();
  }
  c.limiter.max_failures = static_cast<uint32_t>(*failures);
  c.limiter.window_seconds = *window;
  c.limiter.max_names = static_cast<size_t>(*names);
  return c;
}

}  // namespace dbproxy::plugins::login
