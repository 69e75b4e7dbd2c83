#include "plugins/session/session_store.h"

#include <algorithm>
#include <ctime>
#include <string>
#include <unordered_set>
#include <utility>

#include "plugins/common/key_format.h"
#include "plugins/common/latest_messages.h"

namespace dbproxy::plugins::session {
namespace {

using latest_messages::PaddedSize;
using latest_messages::Placeholders;

constexpr uint32_t kTypeSingle = 1;
constexpr uint32_t kTypeGroup = 2;
constexpr int kLockWaitSeconds = 5;

uint32_t WallClock() { return static_cast<uint32_t>(std::time(nullptr)); }

// A MySQL named lock (GET_LOCK) held on one connection, released when this object dies.
// The lock belongs to the connection's session, so the connection must stay held (and
// outlive this object); if the session is lost, the server drops the lock itself. Lock
// names are server-wide: "@<database>" is appended so that two databases on one server
// (test databases, or two deployments) never wait for each other.
class NamedLock {
 public:
  NamedLock(sdk::MysqlConn& conn, std::string name) : conn_(conn), name_(std::move(name)) {}
  NamedLock(const NamedLock&) = delete;
  NamedLock& operator=(const NamedLock&) = delete;
  ~NamedLock() {
    if (held_) {
      // Best effort: a lost session has released it already.
      (void)conn_.Execute("SELECT RELEASE_LOCK(CONCAT(?, '@', IFNULL(DATABASE(), '')))", {name_});
    }
  }

  // Waits up to kLockWaitSeconds. Returns OK; DBP_E_TIMEOUT if another session kept it;
  // the statement error otherwise.
  sdk::Status Acquire() {
    auto r = conn_.Execute("SELECT GET_LOCK(CONCAT(?, '@', IFNULL(DATABASE(), '')), ?)",
                           {name_, kLockWaitSeconds});
    if (!r.ok()) {
      return r.status();
    }
    if (r->Text(0, 0) != "1") {
      return sdk::Status(DBP_E_TIMEOUT, sdk::StrCat("lock ", name_, " not granted"));
    }
    held_ = true;
    return sdk::Status();
  }

 private:
  sdk::MysqlConn& conn_;
  std::string name_;
  bool held_ = false;
};

// ids padded to a power of two (repeating the last one) as IN-list parameters.
void AppendPadded(const std::vector<uint32_t>& ids, std::vector<sdk::Param>* params) {
  size_t padded = PaddedSize(ids.size());
  for (size_t i = 0; i < padded; ++i) {
    params->emplace_back(ids[std::min(i, ids.size() - 1)]);
  }
}

struct Side {
  uint32_t user;
  uint32_t peer;
};

struct FoundRows {
  std::vector<uint32_t> ids;
  std::unordered_set<uint32_t> users;
};

// Every row (any status) of the sides' sessions of this type.
sdk::Result<FoundRows> FindRows(sdk::MysqlConn& conn, uint32_t type,
                                const std::vector<Side>& sides) {
  std::string sql = "SELECT id, userId FROM IMRecentSession WHERE type = ? AND (";
  std::vector<sdk::Param> params;
  params.emplace_back(type);
  for (size_t i = 0; i < sides.size(); ++i) {
    sql += i == 0 ? "(userId = ? AND peerId = ?)" : " OR (userId = ? AND peerId = ?)";
    params.emplace_back(sides[i].user);
    params.emplace_back(sides[i].peer);
  }
  sql += ")";
  auto rows = conn.ExecuteSpan(sql, params.data(), params.size());
  if (!rows.ok()) {
    return rows.status();
  }
  FoundRows found;
  for (size_t r = 0; r < rows->rows(); ++r) {
    found.ids.push_back(static_cast<uint32_t>(rows->Uint(r, 0)));
    found.users.insert(static_cast<uint32_t>(rows->Uint(r, 1)));
  }
  return found;
}

// Shows the rows (status 0) and raises their updated to `updated`.
sdk::Status ShowRows(sdk::MysqlConn& conn, const std::vector<uint32_t>& ids, uint32_t updated) {
  std::vector<sdk::Param> params;
  params.emplace_back(updated);
  AppendPadded(ids, &params);
  std::string sql = sdk::StrCat(
      "UPDATE IMRecentSession SET status = 0, updated = GREATEST(updated, ?) WHERE id IN (",
      Placeholders(params.size() - 1), ")");
  return conn.ExecuteSpan(sql, params.data(), params.size()).status();
}

// Inserts one shown row per side.
sdk::Status InsertRows(sdk::MysqlConn& conn, uint32_t type, const std::vector<Side>& sides,
                       uint32_t updated) {
  std::string sql =
      "INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES ";
  std::vector<sdk::Param> params;
  const uint32_t now = WallClock();
  for (size_t i = 0; i < sides.size(); ++i) {
    sql += i == 0 ? "(?, ?, ?, 0, ?, ?)" : ", (?, ?, ?, 0, ?, ?)";
    params.emplace_back(sides[i].user);
    params.emplace_back(sides[i].peer);
    params.emplace_back(type);
    params.emplace_back(now);
    params.emplace_back(updated);
  }
  return conn.ExecuteSpan(sql, params.data(), params.size()).status();
}

std::vector<Side> Missing(const std::vector<Side>& sides, const FoundRows& found) {
  std::vector<Side> out;
  for (const Side& s : sides) {
    if (found.users.count(s.user) == 0) {
      out.push_back(s);
    }
  }
  return out;
}

// Shows the sides' sessions of this type (at most a handful of sides, distinct users),
// creating missing rows under lock_name.
sdk::Status Touch(sdk::MysqlConn& conn, uint32_t type, const std::vector<Side>& sides,
                  uint32_t updated, const std::string& lock_name) {
  auto found = FindRows(conn, type, sides);
  if (!found.ok()) {
    return found.status();
  }
  if (!found->ids.empty()) {
    sdk::Status s = ShowRows(conn, found->ids, updated);
    if (!s.ok()) {
      return s;
    }
  }
  std::vector<Side> missing = Missing(sides, *found);
  if (missing.empty()) {
    return sdk::Status();
  }
  // Creation path: another writer may be creating the same rows right now.
  NamedLock lock(conn, lock_name);
  sdk::Status s = lock.Acquire();
  if (!s.ok()) {
    return s;
  }
  auto again = FindRows(conn, type, missing);
  if (!again.ok()) {
    return again.status();
  }
  if (!again->ids.empty()) {
    s = ShowRows(conn, again->ids, updated);
    if (!s.ok()) {
      return s;
    }
  }
  std::vector<Side> still = Missing(missing, *again);
  return still.empty() ? sdk::Status() : InsertRows(conn, type, still, updated);
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
  return conn.ExecuteSpan(sql, params.data(), params.size()).status();
}

}  // namespace

sdk::Status SessionStore::TouchPair(uint32_t a, uint32_t b, uint32_t updated) {
  auto conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return conn.status();
  }
  std::vector<Side> sides = {{a, b}};
  if (a != b) {
    sides.push_back({b, a});
  }
  std::string lock = sdk::StrCat("dbproxy.sess.", std::min(a, b), ".", std::max(a, b));
  return Touch(*conn, kTypeSingle, sides, updated, lock);
}

sdk::Status SessionStore::TouchOwnGroupSession(uint32_t user_id, uint32_t group_id,
                                               uint32_t updated) {
  auto conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return conn.status();
  }
  return Touch(*conn, kTypeGroup, {{user_id, group_id}}, updated,
               sdk::StrCat("dbproxy.gsess.", group_id));
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

  NamedLock lock(*conn, sdk::StrCat("dbproxy.gsess.", group_id));
  sdk::Status s = lock.Acquire();
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
        rows.push_back({uid, group_id});
      }
    }
    if (!rows.empty()) {
      s = InsertRows(*conn, kTypeGroup, rows, updated);
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
