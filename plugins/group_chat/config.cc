#include "plugins/group_chat/config.h"

namespace dbproxy::plugins::group_chat {
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
  auto public_info = host.ConfigBool("public_info", false);
  if (!public_info.ok()) {
    return public_info.status();
  }
  config.public_info = *public_info;
  auto max_groups = ReadBounded(host, "max_groups", 1000, 1, 100000);
  if (!max_groups.ok()) {
    return max_groups.status();
  }
  config.max_groups = *max_groups;
  auto max_members = ReadBounded(host, "max_members_per_change", 1000, 1, 100000);
  if (!max_members.ok()) {
    return max_members.status();
  }
  config.max_members_per_change = *max_members;
  return config;
}

}  // namespace dbproxy::plugins::group_chat
