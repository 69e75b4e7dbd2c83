#pragma once

// The read statements of the message module: IMRelationShip, IMMessage_<n> and
// IMGroupMessage_<n> (spec §4); the writes are in message_batch_store.h. Values are always
// bound parameters; the only text pasted into a statement is a shard table name from
// plugins/common/key_format.h.
//
// Functions run on the (teamtalk_slave) connection they are given and never acquire another
// one. Thread: the thread that holds the connection.

#include <cstdint>
#include <string>
#include <vector>

#include "dbproxy/sdk.h"

namespace dbproxy::plugins::message::store {

// ---- Reads (teamtalk_slave)

// The id of the pair's active relation (status 0, lowest id); 0 if none. Never creates one.
sdk::Result<uint32_t> FindRelation(sdk::MysqlConn& conn, uint32_t small_id, uint32_t big_id);

// Which messages a reader may see: one relation, or one group from a join time on.
struct Conversation {
  bool group = false;
  uint32_t id = 0;            // relateId or groupId
  uint32_t visible_from = 0;  // group: messages created at or after the join time
};

// One stored message as the readers need it. content NULL reads as "".
struct MessageRow {
  uint32_t msg_id = 0;
  uint32_t from_id = 0;  // fromId (single) or userId (group)
  uint32_t created = 0;
  uint32_t type = 0;
  std::string content;
};

// Active messages with msgId <= msg_id_max, highest msgId first, at most limit rows. msgIds
// grow strictly in commit order, so msgId order is the order of the conversation (TeamTalk
// sorted by created, id, which mixes up messages sent within one second).
sdk::Result<std::vector<MessageRow>> ListMessages(sdk::MysqlConn& conn, const Conversation& c,
                                                  uint32_t msg_id_max, uint32_t limit);

// Active messages whose msgId is in ids, highest msgId first, at most limit rows.
// REQUIRES: !ids.empty().
sdk::Result<std::vector<MessageRow>> MessagesById(sdk::MysqlConn& conn, const Conversation& c,
                                                  const std::vector<uint32_t>& ids, uint32_t limit);

// The highest msgId among the active messages of the conversation; 0 if there is none.
sdk::Result<uint32_t> LatestMsgId(sdk::MysqlConn& conn, const Conversation& c);

}  // namespace dbproxy::plugins::message::store
