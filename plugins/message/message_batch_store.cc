#include "plugins/message/message_batch_store.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "plugins/common/key_format.h"
#include "plugins/common/sql_in_list.h"

namespace dbproxy::plugins::message::store {
namespace {

using sdk::MysqlConn;
using sdk::MysqlResult;
using sdk::Param;
using sdk::Result;
using sdk::Status;
using sdk::StrCat;

uint32_t U32(const MysqlResult& r, size_t row, size_t col) {
  const uint64_t v = r.Uint(row, col);
  return v > std::numeric_limits<uint32_t>::max() ? 0 : static_cast<uint32_t>(v);
}

// Calls fn(first, count) for consecutive pieces of at most kChunk of n elements.
template <typename Fn>
Status ForEachChunk(size_t n, Fn fn) {
  for (size_t at = 0; at < n; at += kChunk) {
    Status s = fn(at, std::min(kChunk, n - at));
    if (!s.ok()) {
      return s;
    }
  }
  return Status();
}

// Calls fn(first, count) for power-of-two pieces of n rows (see sql::Batches).
template <typename Fn>
Status ForEachRowBatch(size_t n, Fn fn) {
  size_t at = 0;
  for (size_t count : sql::Batches(n, kChunk)) {
    Status s = fn(at, count);
    if (!s.ok()) {
      return s;
    }
    at += count;
  }
  return Status();
}

std::vector<uint32_t> Slice(const std::vector<uint32_t>& ids, size_t at, size_t count) {
  return std::vector<uint32_t>(ids.begin() + static_cast<std::ptrdiff_t>(at),
                               ids.begin() + static_cast<std::ptrdiff_t>(at + count));
}

// "CASE <id_expr> % 8 WHEN 0 THEN (probe on shard 0) ... END", where a probe is
// "(SELECT <select> FROM <shard> m FORCE INDEX (<index>) WHERE m.<column> = <id_expr>
// <filter> ORDER BY <order> LIMIT 1)": it reads the last entry of an index range backwards,
// one entry, whatever the conversation's length.
std::string ProbeCase(bool group, const char* id_expr, const char* select, const char* filter,
                      const char* order) {
  std::string out = StrCat("CASE ", id_expr, " % ", keys::kShards);
  for (uint32_t k = 0; k < keys::kShards; ++k) {
    out += StrCat(" WHEN ", k, " THEN (SELECT ", select, " FROM ",
                  group ? keys::GroupMessageTable(k) : keys::MessageTable(k), " m FORCE INDEX (",
                  group ? "idx_groupId_msgId_status_created" : "idx_relateId_status_msgId_created",
                  ") WHERE m.", group ? "groupId" : "relateId", " = ", id_expr, filter,
                  " ORDER BY ", order, " LIMIT 1)");
  }
  out += " END";
  return out;
}

// Why probes: the alternatives cost far more here. Under concurrent inserts a loose index
// scan ("MAX(msgId) ... GROUP BY relateId, status") checks the visibility of every entry
// newer than its read view and read whole ranges (1-2 ms per relation); one UNION ALL
// select per conversation is planned anew for each select on every execution; and a probe
// with a range on status ("status > 1 ORDER BY msgId") cannot use the index order and reads
// every entry of the relation.
//
// A relation first gets one probe: the entry with the highest (status, msgId). If its
// status is 0, no entry has another status and its msgId is the relation's maximum. If it
// is 1 (deleted; TeamTalk writes nothing else but 0 normal), a second statement probes the
// highest msgId with status 0 for those relations only (rare: a relation with deleted
// messages), and the larger of the two is the maximum. A higher status is foreign data: the
// relation's maximum is then read exactly by a full MAX (rare, slow).
// A group's index puts msgId before status, so one probe covers every status.
enum class Probe { kGroup, kRelationTop, kRelationLive };
std::string MaxProbeStatement(Probe probe) {
  switch (probe) {
    case Probe::kGroup:
      return StrCat(sql::kNoIndexDives, "SELECT g.id, ",
                    ProbeCase(true, "g.id", "m.msgId", "", "m.msgId DESC"),
                    " FROM IMGroup g WHERE g.id IN ");
    case Probe::kRelationTop:
      return StrCat(sql::kNoIndexDives, "SELECT r.id, ",
                    ProbeCase(false, "r.id", "CONCAT(m.status, ',', m.msgId)", "",
                              "m.status DESC, m.msgId DESC"),
                    " FROM IMRelationShip r WHERE r.id IN ");
    case Probe::kRelationLive:
      break;
  }
  return StrCat(sql::kNoIndexDives, "SELECT r.id, ",
                ProbeCase(false, "r.id", "m.msgId", " AND m.status = 0", "m.msgId DESC"),
                " FROM IMRelationShip r WHERE r.id IN ");
}

// "status,msgId" of the top probe; false if unreadable.
bool ParseTop(std::string_view cell, uint64_t* status, uint64_t* msg_id) {
  const size_t comma = cell.find(',');
  if (comma == std::string_view::npos) {
    return false;
  }
  auto [p1, e1] = std::from_chars(cell.data(), cell.data() + comma, *status);
  auto [p2, e2] = std::from_chars(cell.data() + comma + 1, cell.data() + cell.size(), *msg_id);
  return e1 == std::errc() && e2 == std::errc() && p1 == cell.data() + comma &&
         p2 == cell.data() + cell.size();
}

// The exact maximum of one relation, any status: reads all its index entries.
Result<uint64_t> FullMaxRelationMsgId(MysqlConn& conn, uint32_t relate_id) {
  auto r = conn.Execute(StrCat("SELECT COALESCE(MAX(msgId), 0) FROM ",
                               keys::MessageTable(relate_id), " WHERE relateId = ?"),
                        {relate_id});
  if (!r.ok()) {
    return r.status();
  }
  return r->Uint(0, 0);
}

// Runs probe for ids, one statement per kChunk (padded), calling on_row(id, result, row)
// for every answered row.
template <typename OnRow>
Status RunProbe(MysqlConn& conn, Probe probe, const std::vector<uint32_t>& ids, OnRow on_row) {
  // Built once: the text depends only on the probe.
  static const std::string kSql[] = {MaxProbeStatement(Probe::kGroup),
                                     MaxProbeStatement(Probe::kRelationTop),
                                     MaxProbeStatement(Probe::kRelationLive)};
  const std::string& sql = kSql[static_cast<int>(probe)];
  return ForEachChunk(ids.size(), [&](size_t at, size_t count) {
    const std::vector<uint32_t> chunk = Slice(ids, at, count);
    std::vector<Param> params;
    sql::AppendPadded(&params, chunk);
    auto r = conn.ExecuteSpan(sql + sql::InList(chunk.size()), params.data(), params.size());
    if (!r.ok()) {
      return r.status();
    }
    for (size_t row = 0; row < r->rows(); ++row) {
      Status s = on_row(U32(*r, row, 0), *r, row);
      if (!s.ok()) {
        return s;
      }
    }
    return Status();
  });
}

// The highest msgId per conversation (absent if it has none), driven from the
// conversations' own rows (IMRelationShip / IMGroup, locked by the caller).
Result<std::unordered_map<uint32_t, uint64_t>> MaxMsgIds(MysqlConn& conn, bool group,
                                                         const std::vector<uint32_t>& ids) {
  std::unordered_map<uint32_t, uint64_t> out;
  if (group) {
    Status s =
        RunProbe(conn, Probe::kGroup, ids, [&](uint32_t id, const MysqlResult& r, size_t row) {
          const uint64_t max = r.Uint(row, 1);  // NULL (no row) reads as 0
          if (max != 0) {
            out[id] = max;
          }
          return Status();
        });
    if (!s.ok()) {
      return s;
    }
    return out;
  }
  std::vector<uint32_t> with_deleted;    // relations whose top entry has status 1
  std::vector<uint32_t> foreign_status;  // relations with a status above 1
  Status s =
      RunProbe(conn, Probe::kRelationTop, ids, [&](uint32_t id, const MysqlResult& r, size_t row) {
        if (r.IsNull(row, 1)) {
          return Status();  // no messages
        }
        uint64_t top_status = 0;
        uint64_t top_msg_id = 0;
        if (!ParseTop(r.Text(row, 1), &top_status, &top_msg_id)) {
          return Status(DBP_E_INTERNAL,
                        StrCat("relation ", id, ": unreadable probe '", r.Text(row, 1), "'"));
        }
        if (top_status > 1) {
          foreign_status.push_back(id);
        } else {
          if (top_status == 1) {
            with_deleted.push_back(id);
          }
          if (top_msg_id != 0) {
            out[id] = top_msg_id;
          }
        }
        return Status();
      });
  if (!s.ok()) {
    return s;
  }
  if (!with_deleted.empty()) {
    s = RunProbe(conn, Probe::kRelationLive, with_deleted,
                 [&](uint32_t id, const MysqlResult& r, size_t row) {
                   const uint64_t live = r.Uint(row, 1);  // NULL reads as 0
                   if (live != 0) {
                     out[id] = std::max(out[id], live);
                   }
                   return Status();
                 });
    if (!s.ok()) {
      return s;
    }
  }
  for (uint32_t id : foreign_status) {
    Result<uint64_t> max = FullMaxRelationMsgId(conn, id);
    if (!max.ok()) {
      return max.status();
    }
    out[id] = *max;
  }
  return out;
}

// "(smallId = ? AND bigId = ?) OR ..." for the padded pair count, with its parameters.
std::string PairFilter(const std::vector<Pair>& pairs, size_t at, size_t count,
                       std::vector<Param>* params) {
  const size_t padded = sql::PaddedSize(count);
  std::string sql;
  for (size_t i = 0; i < padded; ++i) {
    const Pair& p = pairs[at + std::min(i, count - 1)];
    sql += i == 0 ? "(smallId = ? AND bigId = ?)" : " OR (smallId = ? AND bigId = ?)";
    params->emplace_back(p.small_id);
    params->emplace_back(p.big_id);
  }
  return sql;
}

}  // namespace

Status UseReadCommittedForNextTransaction(MysqlConn& conn) {
  return conn.Execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").status();
}

Result<std::map<Pair, RelationRow>> LockRelations(MysqlConn& conn, const std::vector<Pair>& pairs) {
  std::map<Pair, RelationRow> out;
  Status s = ForEachChunk(pairs.size(), [&](size_t at, size_t count) {
    std::vector<Param> params;
    const std::string filter = PairFilter(pairs, at, count, &params);
    // A locking read keeps its index dives: on a small or fresh table the estimate without
    // them can pick a full scan, which then waits on every row locked by other batches.
    auto r = conn.ExecuteSpan(StrCat("SELECT id, smallId, bigId, status FROM IMRelationShip WHERE ",
                                     filter, " FOR UPDATE"),
                              params.data(), params.size());
    if (!r.ok()) {
      return r.status();
    }
    for (size_t i = 0; i < r->rows(); ++i) {
      const RelationRow row{U32(*r, i, 0), U32(*r, i, 3)};
      auto [it, inserted] = out.try_emplace(Pair{U32(*r, i, 1), U32(*r, i, 2)}, row);
      if (!inserted && row.id < it->second.id) {
        it->second = row;
      }
    }
    return Status();
  });
  if (!s.ok()) {
    return s;
  }
  return out;
}

Status InsertRelations(MysqlConn& conn, const std::vector<Pair>& pairs, uint32_t now) {
  return ForEachRowBatch(pairs.size(), [&](size_t at, size_t count) {
    std::string sql =
        "INSERT INTO IMRelationShip (smallId, bigId, status, created, updated) VALUES ";
    std::vector<Param> params;
    for (size_t i = 0; i < count; ++i) {
      sql += i == 0 ? "(?, ?, 0, ?, ?)" : ", (?, ?, 0, ?, ?)";
      params.emplace_back(pairs[at + i].small_id);
      params.emplace_back(pairs[at + i].big_id);
      params.emplace_back(now);
      params.emplace_back(now);
    }
    return conn.ExecuteSpan(sql, params.data(), params.size()).status();
  });
}

Status ReviveRelations(MysqlConn& conn, const std::vector<uint32_t>& ids, uint32_t now) {
  return ForEachChunk(ids.size(), [&](size_t at, size_t count) {
    const std::vector<uint32_t> chunk = Slice(ids, at, count);
    std::vector<Param> params;
    params.emplace_back(now);
    sql::AppendPadded(&params, chunk);
    return conn
        .ExecuteSpan(StrCat("UPDATE IMRelationShip SET status = 0, updated = ? WHERE id IN ",
                            sql::InList(chunk.size())),
                     params.data(), params.size())
        .status();
  });
}

Result<std::vector<SessionSide>> FindSessions(MysqlConn& conn, uint32_t type,
                                              const std::vector<SessionSide>& sides) {
  std::vector<SessionSide> found;
  Status s = ForEachChunk(sides.size(), [&](size_t at, size_t count) {
    const size_t padded = sql::PaddedSize(count);
    std::string sql = "SELECT userId, peerId FROM IMRecentSession WHERE type = ? AND (";
    std::vector<Param> params;
    params.emplace_back(type);
    for (size_t i = 0; i < padded; ++i) {
      const SessionSide& side = sides[at + std::min(i, count - 1)];
      sql += i == 0 ? "(userId = ? AND peerId = ?)" : " OR (userId = ? AND peerId = ?)";
      params.emplace_back(side.user_id);
      params.emplace_back(side.peer_id);
    }
    sql += ")";
    Result<MysqlResult> r = conn.ExecuteSpan(sql, params.data(), params.size());
    if (!r.ok()) {
      return r.status();
    }
    for (size_t row = 0; row < r->rows(); ++row) {
      found.push_back(SessionSide{U32(*r, row, 0), U32(*r, row, 1)});
    }
    return Status();
  });
  if (!s.ok()) {
    return s;
  }
  return found;
}

Status InsertSessions(MysqlConn& conn, uint32_t type, const std::vector<SessionSide>& sides,
                      uint32_t now) {
  return ForEachRowBatch(sides.size(), [&](size_t at, size_t count) {
    std::string sql =
        "INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES ";
    std::vector<Param> params;
    for (size_t i = 0; i < count; ++i) {
      sql += i == 0 ? "(?, ?, ?, 0, ?, ?)" : ", (?, ?, ?, 0, ?, ?)";
      params.emplace_back(sides[at + i].user_id);
      params.emplace_back(sides[at + i].peer_id);
      params.emplace_back(type);
      params.emplace_back(now);
      params.emplace_back(now);
    }
    return conn.ExecuteSpan(sql, params.data(), params.size()).status();
  });
}

Result<std::unordered_map<uint32_t, uint64_t>> MaxRelationMsgIds(
    MysqlConn& conn, const std::vector<uint32_t>& relate_ids) {
  return MaxMsgIds(conn, /*group=*/false, relate_ids);
}

Result<std::unordered_set<uint32_t>> LockGroups(MysqlConn& conn,
                                                const std::vector<uint32_t>& group_ids) {
  std::unordered_set<uint32_t> out;
  Status s = ForEachChunk(group_ids.size(), [&](size_t at, size_t count) {
    const std::vector<uint32_t> chunk = Slice(group_ids, at, count);
    std::vector<Param> params;
    sql::AppendPadded(&params, chunk);
    auto r = conn.ExecuteSpan(
        StrCat("SELECT id FROM IMGroup WHERE id IN ", sql::InList(chunk.size()), " FOR UPDATE"),
        params.data(), params.size());
    if (!r.ok()) {
      return r.status();
    }
    for (size_t i = 0; i < r->rows(); ++i) {
      out.insert(U32(*r, i, 0));
    }
    return Status();
  });
  if (!s.ok()) {
    return s;
  }
  return out;
}

Result<std::unordered_map<uint32_t, uint64_t>> MaxGroupMsgIds(
    MysqlConn& conn, const std::vector<uint32_t>& group_ids) {
  return MaxMsgIds(conn, /*group=*/true, group_ids);
}

Status InsertMessages(MysqlConn& conn, const std::vector<SingleMessageRow>& rows) {
  std::map<uint32_t, std::vector<const SingleMessageRow*>> by_shard;
  for (const SingleMessageRow& row : rows) {
    by_shard[row.relate_id % keys::kShards].push_back(&row);
  }
  for (const auto& [shard, shard_rows] : by_shard) {
    Status s = ForEachRowBatch(shard_rows.size(), [&](size_t at, size_t count) {
      std::string sql = StrCat(
          "INSERT INTO ", keys::MessageTable(shard),
          " (relateId, fromId, toId, msgId, content, type, status, created, updated) VALUES ");
      std::vector<Param> params;
      for (size_t i = 0; i < count; ++i) {
        const SingleMessageRow& row = *shard_rows[at + i];
        sql += i == 0 ? "(?, ?, ?, ?, ?, ?, 0, ?, ?)" : ", (?, ?, ?, ?, ?, ?, 0, ?, ?)";
        for (Param p : {Param(row.relate_id), Param(row.from_id), Param(row.to_id),
                        Param(row.msg_id), Param(row.content), Param(row.type),
                        Param(row.create_time), Param(row.create_time)}) {
          params.push_back(p);
        }
      }
      return conn.ExecuteSpan(sql, params.data(), params.size()).status();
    });
    if (!s.ok()) {
      return s;
    }
  }
  return Status();
}

Status InsertGroupMessages(MysqlConn& conn, const std::vector<GroupMessageRow>& rows) {
  std::map<uint32_t, std::vector<const GroupMessageRow*>> by_shard;
  for (const GroupMessageRow& row : rows) {
    by_shard[row.group_id % keys::kShards].push_back(&row);
  }
  for (const auto& [shard, shard_rows] : by_shard) {
    Status s = ForEachRowBatch(shard_rows.size(), [&](size_t at, size_t count) {
      std::string sql =
          StrCat("INSERT INTO ", keys::GroupMessageTable(shard),
                 " (groupId, userId, msgId, content, type, status, created, updated) VALUES ");
      std::vector<Param> params;
      for (size_t i = 0; i < count; ++i) {
        const GroupMessageRow& row = *shard_rows[at + i];
        sql += i == 0 ? "(?, ?, ?, ?, ?, 0, ?, ?)" : ", (?, ?, ?, ?, ?, 0, ?, ?)";
        for (Param p :
             {Param(row.group_id), Param(row.user_id), Param(row.msg_id), Param(row.content),
              Param(row.type), Param(row.create_time), Param(row.create_time)}) {
          params.push_back(p);
        }
      }
      return conn.ExecuteSpan(sql, params.data(), params.size()).status();
    });
    if (!s.ok()) {
      return s;
    }
  }
  return Status();
}

Status TouchGroups(MysqlConn& conn, const std::vector<uint32_t>& group_ids, uint32_t now) {
  return ForEachChunk(group_ids.size(), [&](size_t at, size_t count) {
    const std::vector<uint32_t> chunk = Slice(group_ids, at, count);
    std::vector<Param> params;
    params.emplace_back(now);
    sql::AppendPadded(&params, chunk);
    return conn
        .ExecuteSpan(
            StrCat("UPDATE IMGroup SET lastChated = ? WHERE id IN ", sql::InList(chunk.size())),
            params.data(), params.size())
        .status();
  });
}

Result<bool> MessageStored(MysqlConn& conn, bool group, uint32_t conversation_id, uint32_t msg_id) {
  const std::string sql = group ? StrCat("SELECT 1 FROM ", keys::GroupMessageTable(conversation_id),
                                         " WHERE groupId = ? AND msgId = ? LIMIT 1")
                                : StrCat("SELECT 1 FROM ", keys::MessageTable(conversation_id),
                                         " WHERE relateId = ? AND msgId = ? LIMIT 1");
  auto r = conn.Execute(sql, {conversation_id, msg_id});
  if (!r.ok()) {
    return r.status();
  }
  return r->rows() > 0;
}

}  // namespace dbproxy::plugins::message::store
