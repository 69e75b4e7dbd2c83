#pragma once

// Settings of the group_chat module (plugins.modules.group_chat), read once in Init().
// A plain value; any thread may read it after Init().

#include <cstdint>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::group_chat {

struct Config {
  // 0x0403: whether a caller who is not a member may read a group's info and member list
  // (the original allowed it, W17). msg_server's fan-out asks as the sender, a member.
  bool public_info = false;
  // 0x0401 / 0x0403: most groups in one answer.
  uint32_t max_groups = 1000;
  // 0x0405: most member ids one create request may carry; longer lists get result 1.
  uint32_t max_members_per_change = 1000;
};

// Reads and checks every key. Returns DBP_E_CONFIG naming the key for a bad value.
sdk::Result<Config> LoadConfig(sdk::Host& host);

}  // namespace dbproxy::plugins::group_chat
