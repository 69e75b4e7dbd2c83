#pragma once

// Marks a group as fully read for some users: each user's read marker
// <uid>_<gid>_im_user_group.count becomes the group's current <gid>_im_group_msg.count (0 when
// the group has no count yet), so their group unread (group - user) is 0. One Lua script per
// batch, so no message counted between the read and the writes is lost or double-cleared
// (the original's HGETALL + HMSET pair was not atomic, W12). Used when members join or leave
// a group (H23) and when a group is created (H22).

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dbproxy/sdk/plugin.h"
#include "plugins/common/key_format.h"

namespace dbproxy::plugins::read_marker {

// KEYS[1] = group count hash, KEYS[2..] = the users' marker hashes.
inline constexpr std::string_view kScript =
    "local c = redis.call('HGET', KEYS[1], 'count')\n"
    "if not c then c = '0' end\n"
    "for i = 2, #KEYS do redis.call('HSET', KEYS[i], 'count', c) end\n"
    "return #KEYS - 1\n";

// Users per script call: bounds the argument list of one EVAL.
inline constexpr size_t kBatch = 500;

// Returns the first failure; users before the failing batch stay marked. Thread: any worker.
inline sdk::Status MarkGroupRead(const sdk::Host& host, uint32_t group_id,
                                 const std::vector<uint32_t>& users) {
  sdk::Redis unread = host.RedisInstance(keys::kUnreadInstance);
  for (size_t at = 0; at < users.size(); at += kBatch) {
    size_t end = std::min(users.size(), at + kBatch);
    std::vector<std::string> args = {"EVAL", std::string(kScript), std::to_string(end - at + 1),
                                     keys::GroupMsgCount(group_id)};
    for (size_t i = at; i < end; ++i) {
      args.push_back(keys::UserGroupRead(users[i], group_id));
    }
    auto reply = unread.Command(args);
    if (!reply.ok()) {
      return reply.status();
    }
    if (reply->is_error()) {
      return sdk::Status(DBP_E_REDIS, std::string(reply->str()));
    }
  }
  return sdk::Status();
}

}  // namespace dbproxy::plugins::read_marker
