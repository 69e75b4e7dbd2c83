#pragma once

// Every SQL statement of the message module, and nothing else: IMRelationShip, IMMessage_<n>,
// IMGroup and IMGroupMessage_<n> (spec §4). Values are always bound parameters; the only text
// pasted into a statement is a shard table name from plugins/common/key_format.h.
//
// Functions run on the connection they are given and never acquire another one. The write
// functions expect to run inside the transaction of message_writer.cc; the read functions
// expect a teamtalk_slave connection. Thread: the thread that holds the connection.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dbproxy/sdk.h"

namespace dbproxy::plugins::message::store {

// ---- Writes (teamtalk_master, inside one transaction)

// Makes the next transaction started on conn READ COMMITTED: locking reads then take no gap
// locks (two first messages of different new pairs would otherwise deadlock on the
// relation index gap), and every plain read sees what was committed before it started.
// REQUIRES: no transaction open on conn.
sdk::Status UseReadCommittedForNextTransaction(sdk::MysqlConn& conn);

struct RelationRow {
  uint32_t id = 0;
  uint32_t status = 0;  // NULL reads as 0
};

// The pair's relation with the lowest id, locked FOR UPDATE; nullopt if the pair has none.
sdk::Result<std::optional<RelationRow>> LockRelation(sdk::MysqlConn& conn, uint32_t small_id,
                                                     uint32_t big_id);

// GET_LOCK(name, timeout_s). Returns true if this session now holds the lock, false if the
// wait timed out; an error if the server failed.
sdk::Result<bool> GetNamedLock(sdk::MysqlConn& conn, std::string_view name, uint32_t timeout_s);
// RELEASE_LOCK(name).
sdk::Status ReleaseNamedLock(sdk::MysqlConn& conn, std::string_view name);

// Inserts an active relation (status 0, created = updated = now). Returns its id.
sdk::Result<uint32_t> InsertRelation(sdk::MysqlConn& conn, uint32_t small_id, uint32_t big_id,
                                     uint32_t now);
// Sets a relation back to status 0.
sdk::Status ReviveRelation(sdk::MysqlConn& conn, uint32_t relate_id, uint32_t now);

// The highest msgId stored for the relation, deleted rows included (0 if none). Written as
// one MAX per status so each is answered from idx_relateId_status_msgId_created.
sdk::Result<uint64_t> MaxRelationMsgId(sdk::MysqlConn& conn, uint32_t relate_id);

struct SingleMessageRow {
  uint32_t relate_id = 0;
  uint32_t from_id = 0;
  uint32_t to_id = 0;
  uint32_t msg_id = 0;
  std::string_view content;
  uint32_t type = 0;
  uint32_t create_time = 0;  // stored in both created and updated
};
sdk::Status InsertMessage(sdk::MysqlConn& conn, const SingleMessageRow& row);

// Locks the IMGroup row FOR UPDATE: the group's messages are numbered one at a time.
// Returns false if the group has no row.
sdk::Result<bool> LockGroup(sdk::MysqlConn& conn, uint32_t group_id);

// The highest msgId stored for the group, any status (0 if none); answered from
// idx_groupId_msgId_status_created.
sdk::Result<uint64_t> MaxGroupMsgId(sdk::MysqlConn& conn, uint32_t group_id);

struct GroupMessageRow {
  uint32_t group_id = 0;
  uint32_t user_id = 0;
  uint32_t msg_id = 0;
  std::string_view content;
  uint32_t type = 0;
  uint32_t create_time = 0;  // stored in both created and updated
};
sdk::Status InsertGroupMessage(sdk::MysqlConn& conn, const GroupMessageRow& row);

// IMGroup.lastChated = now.
sdk::Status TouchGroup(sdk::MysqlConn& conn, uint32_t group_id, uint32_t now);

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
