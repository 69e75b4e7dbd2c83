#pragma once

// CID_OTHER_GET_SHIELD_REQ 0x0711 -> CID_OTHER_GET_SHIELD_RSP 0x0712 (SID 7), spec H19:
// msg_server asks, before pushing a group message, which of the listed users shielded the
// group. One ShieldStatus{user_id, group_id, status} per requested user in request order
// (repeats kept), status from group_set_<gid> field "<uid>_1", 0 when unset. attach_data (the
// raw IMMsgData body) is echoed byte-exact. An unknown group, an unreadable body or a
// storage failure answers an empty list (the original said nothing for an unknown group).

#include "dbproxy/sdk/plugin.h"
#include "plugins/group_chat/config.h"

namespace dbproxy::plugins::group_chat {

// Any worker thread.
void HandleGetShield(const sdk::Host& host, const Config& config, sdk::Request& request);

}  // namespace dbproxy::plugins::group_chat
