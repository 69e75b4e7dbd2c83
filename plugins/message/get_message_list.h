#pragma once

// CID_MSG_LIST_REQUEST 0x0309 (spec H11): one page of a conversation, newest first, answered
// with CID_MSG_LIST_RESPONSE 0x030a (SID 3). msg_id_begin 0 means "from the newest",
// otherwise messages with msgId <= msg_id_begin; msg_cnt is capped by max_msg_cnt (W26).
// A single conversation is the relation with session_id (never created here); a group
// conversation needs membership and shows messages from the join time on. Anything that
// cannot be served (unparsable body, unknown session type, no relation, not a member,
// storage failure) is answered with an empty list, echoing what could be read.

#include "dbproxy/sdk.h"
#include "plugins/message/config.h"

namespace dbproxy::plugins::message {

// Thread: a worker; holds one teamtalk_slave connection at a time.
void HandleGetMessageList(const sdk::Host& host, const Config& config, sdk::Request& request);

}  // namespace dbproxy::plugins::message
