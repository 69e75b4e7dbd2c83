#include "plugins/session/session_store.h"

#include <algorithm>
#include <ctime>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "plugins/common/key_format.h"
#include "plugins/common/latest_messages.h"
#include "plugins/common/named_locks.h"
#include "plugins/common/session_locks.h"
#include "plugins/common/sql_in_list.h"

namespace dbproxy::plugins::session {
namespace {

using latest_messages::PaddedSize;
using latest_messages::Placeholders;

constexpr uint32_t kTypeSingle = 1;
constexpr uint32_t kTypeGroup = 2;
constexpr uint32_t kLockWaitSeconds = 5;

uint32_t WallClock() { return static_cast<uint32_t>(std::time(nullptr)); }

// ids padded to a power of two (repeating the last one) as IN-list parameters.
void AppendPadded(const std::vector<uint32_t>& ids, std::vector<sdk::Param>* params) {
  size_t padded = PaddedSize(ids.size());
  for (size_t i = 0; i < padded; ++i) {
    params->emplace_back(ids[std::min(i, ids.size() - 1)]);
  }
}

// One session: user's session of peer, to be shown with updated raised to `updated`.
struct Side {
  uint32_t user;
  uint32_t peer;
  uint32_t updated;
};

uint64_t Key(uint32_t user, uint32_t peer) { return (uint64_t{user} << 32) | peer; }

// The touches as distinct sessions, ascending (user, peer), each with its largest updated.
std::vector<Side> Merge(const std::vector<SessionStore::Touch>& touches) {
  std::vector<Side> sides;
  sides.reserve(touches.size());
  for (const SessionStore::Touch& t : touches) {
    sides.push_back({t.user_id, t.peer_id, t.updated});
  }
  std::sort(sides.begin(), sides.end(),
            [](const Side& a, const Side& b) { return Key(a.user, a.peer) < Key(b.user, b.peer); });
  std::vector<Side> out;
  for (const Side& s : sides) {
    if (!out.empty() && out.back().user == s.user && out.back().peer == s.peer) {
      out.back().updated = std::max(out.back().updated, s.updated);
    } else {
      out.push_back(s);
    }
  }
  return out;
}

// Sides in statement-sized pieces.
std::vector<std::vector<Side>> Chunks(const std::vector<Side>& sides) {
  std::vector<std::vector<Side>> out;
  for (size_t at = 0; at < sides.size(); at += SessionStore::kSidesPerStatement) {
    out.emplace_back(sides.begin() + at,
                     sides.begin() + std::min(sides.size(), at + SessionStore::kSidesPerStatement));
  }
  return out;
}

struct FoundRow {
  uint32_t id;
  uint32_t updated;  // of its side
};

// Every row (any status) of the sides' sessions of this type (at most kSidesPerStatement
// distinct sides), with the side's updated; adds the sides that have a row to *found.
sdk::Status FindRows(sdk::MysqlConn& conn, uint32_t type, const std::vector<Side>& sides,
                     std::vector<FoundRow>* rows_out, std::unordered_set<uint64_t>* found) {
  std::string sql = sdk::StrCat(
      sql::kNoIndexDives, "SELECT id, userId, peerId FROM IMRecentSession WHERE type = ? AND (");
  std::vector<sdk::Param> params;
  size_t padded = PaddedSize(sides.size());
  params.reserve(1 + 2 * padded);
  params.emplace_back(type);
  for (size_t i = 0; i < padded; ++i) {
    const Side& s = sides[std::min(i, sides.size() - 1)];
    sql += i == 0 ? "(userId = ? AND peerId = ?)" : " OR (userId = ? AND peerId = ?)";
    params.emplace_back(s.user);
    params.emplace_back(s.peer);
  }
  sql += ")";
  auto rows = conn.ExecuteSpan(sql, params.data(), params.size());
  if (!rows.ok()) {
    return rows.status();
  }
  std::unordered_map<uint64_t, uint32_t> wanted;
  for (const Side& s : sides) {
    wanted[Key(s.user, s.peer)] = s.updated;
  }
  for (size_t r = 0; r < rows->rows(); ++r) {
    uint64_t key =
        Key(static_cast<uint32_t>(rows->Uint(r, 1)), static_cast<uint32_t>(rows->Uint(r, 2)));
    auto it = wanted.find(key);
    if (it == wanted.end()) {
      continue;  // cannot happen: the WHERE names only these sides
    }
    rows_out->push_back({static_cast<uint32_t>(rows->Uint(r, 0)), it->second});
    found->insert(key);
  }
  return sdk::Status();
}

// Runs one autocommit write, again (up to kDeadlockAttempts in all) when InnoDB picked it as
// a deadlock victim. The writes here touch the same rows from different indexes -- a batch
// by primary key, the group flusher by (userId, peerId) -- so two of them can each hold a
// lock the other needs; the victim's statement was rolled back whole and every write here
// is idempotent (status 0, GREATEST(updated, ...), inserts under the creation lock), so
// running it again is safe.
constexpr int kDeadlockAttempts = 3;
constexpr unsigned kErLockDeadlock = 1213;

sdk::Status WriteRetryingDeadlocks(sdk::MysqlConn& conn, const std::string& sql,
                                   const std::vector<sdk::Param>& params) {
  sdk::Status s;
  for (int attempt = 1; attempt <= kDeadlockAttempts; ++attempt) {
    s = conn.ExecuteSpan(sql, params.data(), params.size()).status();
    if (s.ok() || conn.ErrorNumber() != kErLockDeadlock) {
      return s;
    }
  }
  return s;
}

// Shows the rows (status 0) and raises each one's updated to its own value, at most
// kSidesPerStatement rows per statement:
//   UPDATE ... SET status = 0, updated = GREATEST(updated, CASE id WHEN ? THEN ? ... END)
//   WHERE id IN (...)
// padded to a power of two by repeating the last row.
sdk::Status ShowRows(sdk::MysqlConn& conn, const std::vector<FoundRow>& rows) {
  for (size_t at = 0; at < rows.size(); at += SessionStore::kSidesPerStatement) {
    size_t n = std::min(rows.size() - at, SessionStore::kSidesPerStatement);
    size_t padded = PaddedSize(n);
    std::string sql = "UPDATE IMRecentSession SET status = 0, updated = GREATEST(updated, CASE id";
    std::vector<sdk::Param> params;
    params.reserve(3 * padded);
    for (size_t i = 0; i < padded; ++i) {
      const FoundRow& row = rows[at + std::min(i, n - 1)];
      sql += " WHEN ? THEN ?";
      params.emplace_back(row.id);
      params.emplace_back(row.updated);
    }
    sql += sdk::StrCat(" END) WHERE id IN (", Placeholders(padded), ")");
    for (size_t i = 0; i < padded; ++i) {
      params.emplace_back(rows[at + std::min(i, n - 1)].id);
    }
    sdk::Status s = WriteRetryingDeadlocks(conn, sql, params);
    if (!s.ok()) {
      return s;
    }
  }
  return sdk::Status();
}

// Shows the existing rows of the sides' sessions of this type; *found gets every side
// that has a row.
sdk::Status ShowExisting(sdk::MysqlConn& conn, uint32_t type, const std::vector<Side>& sides,
                         std::unordered_set<uint64_t>* found) {
  std::vector<FoundRow> rows;
  for (const std::vector<Side>& chunk : Chunks(sides)) {
    sdk::Status s = FindRows(conn, type, chunk, &rows, found);
    if (!s.ok()) {
      return s;
    }
  }
  return ShowRows(conn, rows);
}

// Inserts one shown row per side (distinct sides), created now, in one statement. The row
// list is padded to a power of two by repeating the last row; UNION (distinct) drops the
// repeats, so each side gets exactly one row:
//   INSERT ... SELECT v.u, v.p, ?, 0, ?, v.t FROM (SELECT ? AS u, ? AS p, ? AS t UNION
//   SELECT ?, ?, ? ...) AS v
sdk::Status InsertRows(sdk::MysqlConn& conn, uint32_t type, const std::vector<Side>& sides) {
  size_t padded = PaddedSize(sides.size());
  std::string sql =
      "INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) "
      "SELECT v.u, v.p, ?, 0, ?, v.t FROM (";
  std::vector<sdk::Param> params;
  params.reserve(2 + 3 * padded);
  params.emplace_back(type);
  params.emplace_back(WallClock());
  for (size_t i = 0; i < padded; ++i) {
    const Side& s = sides[std::min(i, sides.size() - 1)];
    sql += i == 0 ? "SELECT ? AS u, ? AS p, ? AS t" : " UNION SELECT ?, ?, ?";
    params.emplace_back(s.user);
    params.emplace_back(s.peer);
    params.emplace_back(s.updated);
  }
  sql += ") AS v";
  return WriteRetryingDeadlocks(conn, sql, params);
}

std::vector<Side> Missing(const std::vector<Side>& sides,
                          const std::unordered_set<uint64_t>& found) {
  std::vector<Side> out;
  for (const Side& s : sides) {
    if (found.count(Key(s.user, s.peer)) == 0) {
      out.push_back(s);
    }
  }
  return out;
}

// The named lock guarding the creation of a session row (see session_store.h).
std::string LockName(uint32_t type, const Side& s) {
  return type == kTypeSingle ? session_locks::SingleSession(s.user, s.peer)
                             : session_locks::GroupSession(s.peer);
}

// Shows the touched sessions of this type, creating missing rows under their locks.
sdk::Status TouchType(sdk::MysqlConn& conn, uint32_t type,
                      const std::vector<SessionStore::Touch>& touches) {
  std::vector<Side> sides = Merge(touches);
  if (sides.empty()) {
    return sdk::Status();
  }
  std::unordered_set<uint64_t> found;
  sdk::Status s = ShowExisting(conn, type, sides, &found);
  if (!s.ok()) {
    return s;
  }
  std::vector<Side> missing = Missing(sides, found);
  if (missing.empty()) {
    return sdk::Status();
  }
  // Creation path: other writers may be creating the same rows right now.
  std::vector<std::string> names;
  names.reserve(missing.size());
  for (const Side& side : missing) {
    names.push_back(LockName(type, side));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  NamedLocks locks(conn, NamedLocks::Scope::kDatabase, std::move(names));
  s = locks.AcquireAll(kLockWaitSeconds);
  if (!s.ok()) {
    return s;
  }
  std::unordered_set<uint64_t> again;
  s = ShowExisting(conn, type, missing, &again);
  if (!s.ok()) {
    return s;
  }
  for (const std::vector<Side>& chunk : Chunks(Missing(missing, again))) {
    s = InsertRows(conn, type, chunk);
    if (!s.ok()) {
      return s;
    }
  }
  return sdk::Status();
}

// Members of chunk (ascending, distinct) that have a group session row of group_id.
sdk::Result<std::unordered_set<uint32_t>> MembersWithRow(sdk::MysqlConn& conn, uint32_t group_id,
                                                         const std::vector<uint32_t>& chunk) {
  std::vector<sdk::Param> params;
  params.emplace_back(group_id);
  AppendPadded(chunk, &params);
  std::string sql = sdk::StrCat(
      "SELECT DISTINCT userId FROM IMRecentSession WHERE peerId = ? AND type = 2 AND userId IN (",
      Placeholders(params.size() - 1), ")");
  auto rows = conn.ExecuteSpan(sql, params.data(), params.size());
  if (!rows.ok()) {
    return rows.status();
  }
  std::unordered_set<uint32_t> out;
  for (size_t r = 0; r < rows->rows(); ++r) {
    out.insert(static_cast<uint32_t>(rows->Uint(r, 0)));
  }
  return out;
}

// Raises updated of the chunk's group sessions of group_id; removed sessions stay removed.
sdk::Status BumpMembers(sdk::MysqlConn& conn, uint32_t group_id, const std::vector<uint32_t>& chunk,
                        uint32_t updated) {
  std::vector<sdk::Param> params;
  params.emplace_back(updated);
  params.emplace_back(group_id);
  AppendPadded(chunk, &params);
  std::string sql = sdk::StrCat(
      "UPDATE IMRecentSession SET updated = GREATEST(updated, ?) "
      "WHERE peerId = ? AND type = 2 AND userId IN (",
      Placeholders(params.size() - 2), ")");
  return WriteRetryingDeadlocks(conn, sql, params);
}

}  // namespace

SessionStore::TouchResult SessionStore::TouchSessions(const std::vector<Touch>& singles,
                                                      const std::vector<Touch>& groups) {
  TouchResult result;
  if (singles.empty() && groups.empty()) {
    return result;
  }
  auto conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    result.singles = singles.empty() ? sdk::Status() : conn.status();
    result.groups = groups.empty() ? sdk::Status() : conn.status();
    return result;
  }
  result.singles = TouchType(*conn, kTypeSingle, singles);
  result.groups = TouchType(*conn, kTypeGroup, groups);
  return result;
}

sdk::Status SessionStore::SyncGroupMembers(uint32_t group_id, const std::vector<uint32_t>& members,
                                           uint32_t updated) {
  std::vector<uint32_t> ids = members;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  ids.erase(std::remove(ids.begin(), ids.end(), 0u), ids.end());
  if (ids.empty()) {
    return sdk::Status();
  }
  auto conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return conn.status();
  }
  std::vector<uint32_t> missing;
  for (size_t at = 0; at < ids.size(); at += kChunk) {
    std::vector<uint32_t> chunk(ids.begin() + at, ids.begin() + std::min(ids.size(), at + kChunk));
    auto existing = MembersWithRow(*conn, group_id, chunk);
    if (!existing.ok()) {
      return existing.status();
    }
    if (!existing->empty()) {
      sdk::Status s = BumpMembers(*conn, group_id, chunk, updated);
      if (!s.ok()) {
        return s;
      }
    }
    for (uint32_t uid : chunk) {
      if (existing->count(uid) == 0) {
        missing.push_back(uid);
      }
    }
  }
  if (missing.empty()) {
    return sdk::Status();
  }

  NamedLocks lock(*conn, NamedLocks::Scope::kDatabase, {sdk::StrCat("dbproxy.gsess.", group_id)});
  sdk::Status s = lock.AcquireAll(kLockWaitSeconds);
  if (!s.ok()) {
    return s;
  }
  for (size_t at = 0; at < missing.size(); at += kChunk) {
    std::vector<uint32_t> chunk(missing.begin() + at,
                                missing.begin() + std::min(missing.size(), at + kChunk));
    // Re-check under the lock: the sender's own row may have been created meanwhile.
    auto existing = MembersWithRow(*conn, group_id, chunk);
    if (!existing.ok()) {
      return existing.status();
    }
    if (!existing->empty()) {
      s = BumpMembers(*conn, group_id, chunk, updated);
      if (!s.ok()) {
        return s;
      }
    }
    std::vector<Side> rows;
    for (uint32_t uid : chunk) {
      if (existing->count(uid) == 0) {
        rows.push_back({uid, group_id, updated});
      }
    }
    if (!rows.empty()) {
      s = InsertRows(*conn, kTypeGroup, rows);
      if (!s.ok()) {
        return s;
      }
    }
  }
  return sdk::Status();
}

sdk::Result<std::vector<SessionStore::Row>> SessionStore::ListShown(uint32_t user_id,
                                                                    uint32_t since,
                                                                    uint32_t limit) {
  auto conn = host_.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    return conn.status();
  }
  auto rows = conn->Execute(
      "SELECT peerId, type, updated FROM IMRecentSession WHERE userId = ? AND status = 0 "
      "AND updated > ? ORDER BY updated DESC, id DESC LIMIT ?",
      {user_id, since, limit});
  if (!rows.ok()) {
    return rows.status();
  }
  std::vector<Row> out;
  for (size_t r = 0; r < rows->rows(); ++r) {
    Row row{static_cast<uint32_t>(rows->Uint(r, 0)), static_cast<uint32_t>(rows->Uint(r, 1)),
            static_cast<uint32_t>(rows->Uint(r, 2))};
    if (row.type != kTypeSingle && row.type != kTypeGroup) {
      continue;
    }
    bool seen = std::any_of(out.begin(), out.end(), [&](const Row& o) {
      return o.peer_id == row.peer_id && o.type == row.type;
    });
    if (!seen) {
      out.push_back(row);
    }
  }
  return out;
}

sdk::Result<uint64_t> SessionStore::Remove(uint32_t user_id, uint32_t peer_id, uint32_t type,
                                           uint32_t now) {
  auto conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return conn.status();
  }
  auto r = conn->Execute(
      "UPDATE IMRecentSession SET status = 1, updated = ? "
      "WHERE userId = ? AND peerId = ? AND type = ? AND status = 0",
      {now, user_id, peer_id, type});
  if (!r.ok()) {
    return r.status();
  }
  return r->affected();
}

}  // namespace dbproxy::plugins::session
