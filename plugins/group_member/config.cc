#include "plugins/group_member/config.h"

namespace dbproxy::plugins::group_member {
namespace {

sdk::Result<uint32_t> ReadBounded(sdk::Host& host, const char* key, int64_t def, int64_t min,
                                  int64_t max) {
  auto value = host.ConfigInt(key, def);
  if (!value.ok()) {
    return value.status();
  }
  if (*value < min || *value > max) {
    return sdk::Status(DBP_E_CONFIG, sdk::StrCat("config key '", key, "' must be between ", min,
                                                 " and ", max, ", got ", *value));
  }
  return static_cast<uint32_t>(*value);
}

}  // namespace

sdk::Result<Config> LoadConfig(sdk::Host& host) {
  Config config;
  auto max_members = ReadBounded(host, "max_members_per_change", 1000, 1, 100000);
  if (!max_members.ok()) {
    return max_members.status();
  }
  config.max_members_per_change = *max_members;
  // GET_LOCK waits inside one statement: keep it under the pools' read timeout.
  auto lock_wait = ReadBounded(host, "lock_wait_seconds", 2, 1, 30);
  if (!lock_wait.ok()) {
    return lock_wait.status();
  }
  config.lock_wait_seconds = *lock_wait;
  return config;
}

}  // namespace dbproxy::plugins::group_member
