#pragma once

// The write statements of the message module, each serving a whole batch of messages in one
// round trip (or a few: lists are cut into chunks of kChunk). Values are always bound
// parameters; the only text pasted into a statement is a shard table name from
// plugins/common/key_format.h. Variable-length lists are padded to a power of two and
// multi-row INSERTs are cut into power-of-two chunks (plugins/common/sql_in_list.h), so each
// statement comes in a few shapes that the connection's prepared-statement cache keeps.
// (Exact-size INSERTs, one per shard, were tried: their many shapes overflow the cache and
// the re-prepares cost more than the statements saved.)
//
// Everything here runs inside the transaction of message_writer.cc on a teamtalk_master
// connection, and never acquires another connection. Thread: the thread holding conn.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dbproxy/sdk.h"

namespace dbproxy::plugins::message::store {

// Most values one statement carries for one list (pairs, ids, rows).
inline constexpr size_t kChunk = 64;

// Makes the next transaction started on conn READ COMMITTED: locking reads then take no gap
// locks (two first messages of different new pairs would otherwise deadlock on the
// relation index gap), and every plain read sees what was committed before it started.
// REQUIRES: no transaction open on conn.
sdk::Status UseReadCommittedForNextTransaction(sdk::MysqlConn& conn);

// A conversation between two users, smaller id first.
struct Pair {
  uint32_t small_id = 0;
  uint32_t big_id = 0;
  friend bool operator<(const Pair& a, const Pair& b) {
    return a.small_id != b.small_id ? a.small_id < b.small_id : a.big_id < b.big_id;
  }
  friend bool operator==(const Pair& a, const Pair& b) = default;
};

struct RelationRow {
  uint32_t id = 0;
  uint32_t status = 0;  // NULL reads as 0
};

// Locks FOR UPDATE every IMRelationShip row of the pairs and returns, for each pair that has
// one, its relation with the lowest id (the original schema allows duplicates, W9).
// REQUIRES: pairs sorted and distinct (rows are then locked in index order by everyone).
sdk::Result<std::map<Pair, RelationRow>> LockRelations(sdk::MysqlConn& conn,
                                                       const std::vector<Pair>& pairs);

// Inserts one active relation per pair (status 0, created = updated = now).
sdk::Status InsertRelations(sdk::MysqlConn& conn, const std::vector<Pair>& pairs, uint32_t now);

// Sets the relations back to status 0. REQUIRES: !ids.empty().
sdk::Status ReviveRelations(sdk::MysqlConn& conn, const std::vector<uint32_t>& ids, uint32_t now);

// The highest msgId stored for each relation, deleted rows included; relations without
// messages are absent. One statement per kChunk relations: a correlated index probe of the
// top entry per relation driven from its IMRelationShip row, plus one for the relations
// whose top entry is deleted (see MaxMsgIds in the .cc for why this form).
sdk::Result<std::unordered_map<uint32_t, uint64_t>> MaxRelationMsgIds(
    sdk::MysqlConn& conn, const std::vector<uint32_t>& relate_ids);

// Locks FOR UPDATE the IMGroup rows of the groups; returns the ids that have a row.
// REQUIRES: group_ids sorted and distinct.
sdk::Result<std::unordered_set<uint32_t>> LockGroups(sdk::MysqlConn& conn,
                                                     const std::vector<uint32_t>& group_ids);

// The highest msgId stored for each group, any status; groups without messages are absent.
// REQUIRES: the groups have IMGroup rows (their probes are driven from them).
sdk::Result<std::unordered_map<uint32_t, uint64_t>> MaxGroupMsgIds(
    sdk::MysqlConn& conn, const std::vector<uint32_t>& group_ids);

struct SingleMessageRow {
  uint32_t relate_id = 0;
  uint32_t from_id = 0;
  uint32_t to_id = 0;
  uint32_t msg_id = 0;
  std::string_view content;
  uint32_t type = 0;
  uint32_t create_time = 0;  // stored in both created and updated
};
// Inserts the rows into their shard tables (status 0).
sdk::Status InsertMessages(sdk::MysqlConn& conn, const std::vector<SingleMessageRow>& rows);

struct GroupMessageRow {
  uint32_t group_id = 0;
  uint32_t user_id = 0;
  uint32_t msg_id = 0;
  std::string_view content;
  uint32_t type = 0;
  uint32_t create_time = 0;  // stored in both created and updated
};
sdk::Status InsertGroupMessages(sdk::MysqlConn& conn, const std::vector<GroupMessageRow>& rows);

// IMGroup.lastChated = now for the groups. REQUIRES: !group_ids.empty().
sdk::Status TouchGroups(sdk::MysqlConn& conn, const std::vector<uint32_t>& group_ids, uint32_t now);

// One side of a recent session: user's session with peer (a user for type 1, a group for
// type 2), as an IMRecentSession row.
struct SessionSide {
  uint32_t user_id = 0;
  uint32_t peer_id = 0;
  friend bool operator<(const SessionSide& a, const SessionSide& b) {
    return a.user_id != b.user_id ? a.user_id < b.user_id : a.peer_id < b.peer_id;
  }
  friend bool operator==(const SessionSide& a, const SessionSide& b) = default;
};

// The sides (all of one session type) that have an IMRecentSession row, any status. A plain
// read: under READ COMMITTED it sees every committed row and this transaction's own.
sdk::Result<std::vector<SessionSide>> FindSessions(sdk::MysqlConn& conn, uint32_t type,
                                                   const std::vector<SessionSide>& sides);

// Inserts one shown session (status 0, created = updated = now) per side.
// REQUIRES: sides distinct, their creation locks held (plugins/common/session_locks.h).
sdk::Status InsertSessions(sdk::MysqlConn& conn, uint32_t type,
                           const std::vector<SessionSide>& sides, uint32_t now);

// Whether the message with this msgId is stored in the conversation (relation or group).
// Used after a COMMIT whose answer was lost, to learn whether it took effect.
sdk::Result<bool> MessageStored(sdk::MysqlConn& conn, bool group, uint32_t conversation_id,
                                uint32_t msg_id);

}  // namespace dbproxy::plugins::message::store
