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
// A writer needing several of these locks takes them in ascending name order, in one
// statement per NamedLocks::kMaxPerStatement names (plugins/common/named_locks.h), so
// writers never wait for each other in a cycle.
// Legacy duplicates are tolerated: every matching row is updated, and lists collapse them.
// Writes and their checks go to teamtalk_master; the list reads teamtalk_slave.
// The connection counts matched rows (CLIENT_FOUND_ROWS), so an UPDATE that writes the
// values already there still reports its rows (W36).
// Thread: any worker, concurrently; each call borrows one connection of one pool.
class SessionStore {
 public:
  explicit SessionStore(const sdk::Host& host) : host_(host) {}

  // One session to show: user_id's session of peer_id (a user for type 1, a group for
  // type 2) had a message stored at `updated`.
  struct Touch {
    uint32_t user_id;
    uint32_t peer_id;
    uint32_t updated;
  };
  struct TouchResult {
    sdk::Status singles;  // of the type-1 touches
    sdk::Status groups;   // of the type-2 touches
  };

  // A batch of stored messages: every touched session is shown (status 0, revived if its
  // user had removed it) with updated raised to the largest `updated` of its touches, and
  // missing rows are created, exactly as touching them one by one would leave them.
  // Touching the same session twice is the same as once with the larger `updated`.
  // Singles list both sides of a pair; groups list the sender's own group session.
  // On one connection, per type and per kSidesPerStatement distinct sessions: one SELECT of
  // their rows and one UPDATE of the rows found. Only when rows are missing: one statement
  // taking every needed named lock (sorted by name), a re-check (SELECT, and an UPDATE for
  // rows created meanwhile), one multi-row INSERT, and one statement releasing the locks.
  // A failure fails the whole type: some of its rows may have been written.
  TouchResult TouchSessions(const std::vector<Touch>& singles, const std::vector<Touch>& groups);

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

  static constexpr size_t kChunk = 512;             // members per group-sync statement
  static constexpr size_t kSidesPerStatement = 64;  // sessions per touch statement

 private:
  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::session
