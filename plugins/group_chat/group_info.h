#pragma once

// CID_GROUP_INFO_REQUEST 0x0403 -> CID_GROUP_INFO_RESPONSE 0x0404 (SID 4), spec H21.
//
// For each requested {group_id, version} (a repeated id counts once, its last version wins;
// at most max_groups ids) a GroupInfo is returned when:
//   - the group has an IMGroup row of type 1 or 2 and the membership service knows it
//     (the Redis member hash is rebuilt from MySQL if it was lost), and
//   - the requested version is older than IMGroup.version (msg_server's fan-out of a group
//     message asks with version 0, so it always gets the group), and
//   - the caller (user_id) is a member, or is 0 (the admin), or public_info is set (W17).
//     msg_server's fan-out request carries the sender's id, a member.
// Order: most recently updated group first. group_member_list = every member, ascending;
// shield_status 0. attach_data is echoed byte-exact (the fan-out puts a whole CPduAttachData
// with the IMMsgData in it). Unreadable body or storage failure: an empty list.

#include "dbproxy/sdk/plugin.h"
#include "plugins/group_chat/config.h"

namespace dbproxy::plugins::group_chat {

// Any worker thread. Holds no pooled connection while it asks the membership service.
void HandleGroupInfo(const sdk::Host& host, const Config& config, sdk::Request& request);

}  // namespace dbproxy::plugins::group_chat
