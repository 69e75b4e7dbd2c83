#pragma once

// Per-group user settings in Redis: hash group_set_<gid> on instance group_set, field
// "<uid>_1" (setting type 1 = push) -> the shield status as the client sent it (§5.2).

#include <cstdint>
#include <unordered_map>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::group_chat {

// Cheap to construct; const methods from any worker thread.
class GroupSettings {
 public:
  explicit GroupSettings(const sdk::Host& host);

  // HSET group_set_<gid> <uid>_1 <status>. Fails on an outage or an error reply.
  sdk::Status SetPushShield(uint32_t group_id, uint32_t user_id, uint32_t status) const;

  // Every user's push shield status in the group (HGETALL); values that are not numbers
  // read as 0, fields of other setting types are skipped.
  sdk::Result<std::unordered_map<uint32_t, uint32_t>> PushShields(uint32_t group_id) const;

 private:
  sdk::Redis redis_;
};

}  // namespace dbproxy::plugins::group_chat
