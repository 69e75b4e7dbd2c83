#pragma once

#include <cstdint>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::session {

// Clears a removed session's unread counters, as TeamTalk's remove did (spec H05 step 2,
// the H13 logic), directly in the Redis instance "unread" and in the unread module's key
// format (plugins/common/key_format.h), so removing works whether or not the unread module
// is enabled:
//   single: HDEL unread_<user> <peer>
//   group:  <user>_<gid>_im_user_group count := <gid>_im_group_msg count (0 if missing),
//           in one Lua script
// Returns OK or the Redis error. Thread: any worker.
sdk::Status ResetUnread(const sdk::Host& host, uint32_t user_id, uint32_t peer_id,
                        uint32_t session_type);

}  // namespace dbproxy::plugins::session
