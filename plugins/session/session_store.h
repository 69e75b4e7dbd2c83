#pragma once

#include <cstdint>
#include <vector>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::session {

// IMRecentSession (spec §4.1): one row per (userId, peerId, type), type 1 = user, 2 = group,
// status 0 = shown, 1 = removed, `updated` orders the recent list. The original schema
// has no unique key, so rows are only ever created under a MySQL named lock, after a
// re-check, which keeps concurrent writers from creating duplicates (W10):
//   dbproxy.sess.<small uid>.<big uid>@<database>   both single sessions of a user pair
//   dbproxy.gsess.<gid>@<database>                  every group session of a group
// Legacy duplicates are tolerated: every matching row is updated, and lists collapse them.
// Writes and their checks go to teamtalk_master; the list reads teamtalk_slave.
// The connection counts matched rows (CLIENT_FOUND_ROWS), so an UPDATE that writes the
// values already there still reports its rows (W36).
// Thread: any worker, concurrently; each call borrows one connection of one pool.
class SessionStore {
 public:
  explicit SessionStore(const sdk::Host& host) : host_(host) {}

  // A single message between a and b was stored at `updated`: both users' sessions of the
  // other (type 1) are shown (status 0) with updated raised to `updated`; missing rows are
  // created. Statements: 2 (select, one update for both sides); creating a row adds the
  // lock, a re-check and one insert.
  sdk::Status TouchPair(uint32_t a, uint32_t b, uint32_t updated);

  // user posted in group gid at `updated`: their group session is shown (revived if they
  // had removed it) or created, like TeamTalk's send path did for the sender.
  sdk::Status TouchOwnGroupSession(uint32_t user_id, uint32_t group_id, uint32_t updated);

  // The group had a message at `updated`: every member's group session gets updated raised
  // to it, without reviving sessions a member removed (TeamTalk's SyncCenter semantics),
  // and members without a row get one (status 0). Members are handled in chunks of
  // kChunk: per chunk one select and one update; only when rows are missing, the group
  // lock plus per chunk a re-check and one multi-row insert. So a 500-member group costs 2
  // statements per message once every member has a row, and 6 the first time.
  sdk::Status SyncGroupMembers(uint32_t group_id, const std::vector<uint32_t>& members,
                               uint32_t updated);

  struct Row {
    uint32_t peer_id;
    uint32_t type;  // 1 or 2
    uint32_t updated;
  };
  // The user's shown sessions changed after `since`, newest first, at most limit rows,
  // duplicates (same peer and type) collapsed to the newest and rows of other types left
  // out. Reads teamtalk_slave.
  sdk::Result<std::vector<Row>> ListShown(uint32_t user_id, uint32_t since, uint32_t limit);

  // Marks the user's shown session(s) with peer/type removed (status 1, updated = now).
  // Returns the number of rows that were shown (0: nothing to remove).
  sdk::Result<uint64_t> Remove(uint32_t user_id, uint32_t peer_id, uint32_t type, uint32_t now);

  static constexpr size_t kChunk = 512;

 private:
  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::session
