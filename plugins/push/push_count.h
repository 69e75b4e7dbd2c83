#pragma once

// The badge number of a push: single unread (sum of the values of hash unread_<uid>) plus
// group unread (for every group of the user in IMGroupMember with status 0:
// <gid>_im_group_msg.count - <uid>_<gid>_im_user_group.count, never negative), as spec H12
// counts them but without the stale-count bug (W13). One IN query for the groups of all
// users and pipelined Redis reads, so the cost does not grow in round trips per user.
// Thread: any worker; takes and releases one teamtalk_slave connection.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::push {

struct PushCounts {
  std::unordered_map<uint32_t, uint32_t> by_user;  // users without unread are absent
  bool degraded = false;                           // MySQL or Redis failed: some counts are too low
};

// users: distinct ids. Never fails: what cannot be read counts as 0 and sets degraded.
PushCounts CountUnread(const sdk::Host& host, const std::vector<uint32_t>& users);

}  // namespace dbproxy::plugins::push
