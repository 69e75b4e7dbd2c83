#pragma once

// CID_MSG_DATA 0x0301 (spec H10): stores a single (types 1, 2) or group (0x11, 0x12) message
// and answers with the request IMMsgData re-serialized, msg_id set (cmd 0x0301, SID 3).
// msg_id is non-zero only if the message row is committed; every failure, an unparsable
// body included, is answered with msg_id 0 (msg_server's only failure signal). After a
// commit the module publishes events::kMessageStored (unread counters and recent sessions
// subscribe), then replies.
//
// A batch command (group commit): the host hands over the requests queued when a worker
// became free, and they are stored in one transaction (message_writer.h), announced in one
// event, then answered. Registered with order_key.h's ConversationOrderKey, so the messages
// of one conversation arrive in arrival order -- several of them may share a batch, and
// get consecutive ids in that order -- and a conversation is never in two batches at once.

#include <span>

#include "dbproxy/sdk.h"
#include "plugins/message/config.h"

namespace dbproxy::plugins::message {

// Thread: a worker; holds at most one teamtalk_master connection, never while calling the
// audio or group_member module or publishing.
void HandleSendMessages(const sdk::Host& host, const Config& config,
                        std::span<sdk::Request> requests);

}  // namespace dbproxy::plugins::message
