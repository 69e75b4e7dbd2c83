#pragma once

// What a reader may see, for the three read commands (0x0309, 0x030d, 0x030b): a user reads
// the messages of the relation with a peer (never created by a read), or those of a group
// the user belongs to, from the user's join time on (the group_member value). Non-members
// see nothing (W17).

#include <cstdint>
#include <optional>

#include "dbproxy/sdk.h"
#include "plugins/message/message_store.h"

namespace dbproxy::plugins::message {

// Returns: the conversation; nullopt when there is nothing the user may read (a zero id, no
//          relation, no such group, not a member); an error when MySQL or the membership
//          service failed (the caller answers with an empty result and logs).
// session_type: 1 single (session_id = peer user id), 2 group (session_id = group id).
// Thread: a worker. Borrows a teamtalk_slave connection for the relation lookup and
// releases it before returning; calls group_member with no connection held.
sdk::Result<std::optional<store::Conversation>> ResolveReaderAccess(const sdk::Host& host,
                                                                    uint32_t user_id,
                                                                    uint32_t session_type,
                                                                    uint32_t session_id);

}  // namespace dbproxy::plugins::message
