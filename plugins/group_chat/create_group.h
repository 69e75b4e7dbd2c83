#pragma once

// CID_GROUP_CREATE_REQUEST 0x0405 -> CID_GROUP_CREATE_RESPONSE 0x0406 (SID 4), spec H22 with
// W14 fixed.
//
// Members = member_id_list de-duplicated, 0 dropped; the creator (user_id; 0 = the admin,
// http_msg_server) is NOT added implicitly, as in TeamTalk: clients list themselves. Result 1
// (no group_id) when the body does not parse (e.g. an unknown group_type), the name is empty,
// the name or avatar is longer than 256 characters, there are no members, more than
// max_members_per_change ids, or storage fails.
//
// MySQL, one transaction on teamtalk_master: IMGroup (status 0, version 1, userCnt = the member
// count — the original doubled it, lastChated 0, created = updated = now) and one
// IMGroupMember row per member. After the commit, Redis: group_member_<gid> replaced with the
// members (join time now), group_msg_id_<gid> set to 0 only if absent (a live counter is never
// wiped, W8), and the members' group read markers set to the group's count. A Redis failure
// is logged, not answered: the membership service rebuilds the hash from MySQL.
//
// Answer: user_id, result_code, group_id (success only), group_name, user_id_list (the
// members, ascending; empty on failure), attach_data.

#include "dbproxy/sdk/plugin.h"
#include "plugins/group_chat/config.h"

namespace dbproxy::plugins::group_chat {

// Any worker thread.
void HandleCreateGroup(const sdk::Host& host, const Config& config, sdk::Request& request);

}  // namespace dbproxy::plugins::group_chat
