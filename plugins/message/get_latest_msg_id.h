#pragma once

// CID_MSG_GET_LATEST_MSG_ID_REQ 0x030b (spec H15): the highest msgId of a conversation's
// active messages, answered with CID_MSG_GET_LATEST_MSG_ID_RSP 0x030c (SID 3). 0 when there
// is none, when the user may not read the conversation (group non-members too: W17), and on
// any failure.

#include "dbproxy/sdk.h"

namespace dbproxy::plugins::message {

// Thread: a worker; holds one teamtalk_slave connection at a time.
void HandleGetLatestMsgId(const sdk::Host& host, sdk::Request& request);

}  // namespace dbproxy::plugins::message
