#pragma once

// CID_GROUP_SHIELD_GROUP_REQUEST 0x0409 -> CID_GROUP_SHIELD_GROUP_RESPONSE 0x040a (SID 4), spec
// H18: a member sets whether pushes of the group reach it: HSET group_set_<gid> <uid>_1
// <shield_status> (instance group_set). Result 0 on success; 1 when the body does not parse,
// the group is unknown (the original said nothing), the user is not a member, or storage
// fails. Membership comes from the membership service.

#include "dbproxy/sdk/plugin.h"
#include "plugins/group_chat/config.h"

namespace dbproxy::plugins::group_chat {

// Any worker thread.
void HandleShieldGroup(const sdk::Host& host, const Config& config, sdk::Request& request);

}  // namespace dbproxy::plugins::group_chat
