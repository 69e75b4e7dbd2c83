#pragma once

// Settings of the group_member module (plugins.modules.group_member), read once in Init().
// A plain value; any thread may read it after Init().

#include <cstdint>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::group_member {

struct Config {
  // Most member ids one 0x0407 request may carry; longer lists are refused (result 1).
  uint32_t max_members_per_change = 1000;
  // How long a change or a Redis rebuild waits for the group's MySQL lock before failing.
  uint32_t lock_wait_seconds = 2;
};

// Reads and checks every key. Returns DBP_E_CONFIG naming the key for a bad value.
sdk::Result<Config> LoadConfig(sdk::Host& host);

}  // namespace dbproxy::plugins::group_member
