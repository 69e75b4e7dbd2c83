#pragma once

// CID_GROUP_NORMAL_LIST_REQUEST 0x0401 -> CID_GROUP_NORMAL_LIST_RESPONSE 0x0402 (SID 4), spec
// H20: the normal groups (type 1, not temporary ones) the user is an active member of, as
// {group_id, version}, most recently updated first, at most max_groups. Read from
// teamtalk_slave. A body that does not parse or a storage failure answers an empty list.

#include "dbproxy/sdk/plugin.h"
#include "plugins/group_chat/config.h"

namespace dbproxy::plugins::group_chat {

// Any worker thread.
void HandleNormalGroupList(const sdk::Host& host, const Config& config, sdk::Request& request);

}  // namespace dbproxy::plugins::group_chat
