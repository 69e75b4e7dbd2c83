#pragma once

// CID_MSG_GET_BY_MSG_ID_REQ 0x030d (spec H14): the messages of one conversation with the
// given msgIds, highest first, answered with CID_MSG_GET_BY_MSG_ID_RES 0x030e (SID 3). At
// most max_msg_ids distinct ids are looked up (W26); access rules and failure answers as
// for 0x0309 (get_message_list.h).

#include "dbproxy/sdk.h"
#include "plugins/message/config.h"

namespace dbproxy::plugins::message {

// Thread: a worker; holds one teamtalk_slave connection at a time.
void HandleGetMessageById(const sdk::Host& host, const Config& config, sdk::Request& request);

}  // namespace dbproxy::plugins::message
