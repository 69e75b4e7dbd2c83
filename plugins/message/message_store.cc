#include "plugins/message/message_store.h"

#include <limits>

#include "plugins/common/key_format.h"

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

// The shard table holding a conversation's messages.
std::string TableOf(const Conversation& c) {
  return c.group ? keys::GroupMessageTable(c.id) : keys::MessageTable(c.id);
}

// The select list and the conversation filter shared by the readers. Columns:
// msgId, sender, created, type, content.
std::string SelectMessages(const Conversation& c) {
  if (c.group) {
    return StrCat("SELECT msgId, userId, created, type, content FROM ", TableOf(c),
                  " WHERE groupId = ? AND status = 0 AND created >= ?");
  }
  return StrCat("SELECT msgId, fromId, created, type, content FROM ", TableOf(c),
                " WHERE relateId = ? AND status = 0");
}

std::vector<MessageRow> ReadMessageRows(const MysqlResult& r) {
  std::vector<MessageRow> rows;
  rows.reserve(r.rows());
  for (size_t i = 0; i < r.rows(); ++i) {
    MessageRow row;
    row.msg_id = U32(r, i, 0);
    row.from_id = U32(r, i, 1);
    row.created = U32(r, i, 2);
    row.type = U32(r, i, 3);
    row.content = std::string(r.Text(i, 4));  // NULL -> "" (W27)
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

// ---- Writes

Status UseReadCommittedForNextTransaction(MysqlConn& conn) {
  return conn.Execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").status();
}

Result<std::optional<RelationRow>> LockRelation(MysqlConn& conn, uint32_t small_id,
                                                uint32_t big_id) {
  auto r = conn.Execute(
      "SELECT id, status FROM IMRelationShip WHERE smallId = ? AND bigId = ? "
      "ORDER BY id LIMIT 1 FOR UPDATE",
      {small_id, big_id});
  if (!r.ok()) {
    return r.status();
  }
  if (r->rows() == 0) {
    return std::optional<RelationRow>();
  }
  return std::optional<RelationRow>(RelationRow{U32(*r, 0, 0), U32(*r, 0, 1)});
}

Result<bool> GetNamedLock(MysqlConn& conn, std::string_view name, uint32_t timeout_s) {
  auto r = conn.Execute("SELECT GET_LOCK(?, ?)", {name, timeout_s});
  if (!r.ok()) {
    return r.status();
  }
  if (r->rows() != 1 || r->IsNull(0, 0)) {
    return Status(DBP_E_MYSQL, StrCat("GET_LOCK('", name, "') failed"));
  }
  return r->Uint(0, 0) == 1;
}

Status ReleaseNamedLock(MysqlConn& conn, std::string_view name) {
  return conn.Execute("SELECT RELEASE_LOCK(?)", {name}).status();
}

Result<uint32_t> InsertRelation(MysqlConn& conn, uint32_t small_id, uint32_t big_id, uint32_t now) {
  auto r = conn.Execute(
      "INSERT INTO IMRelationShip (smallId, bigId, status, created, updated) "
      "VALUES (?, ?, 0, ?, ?)",
      {small_id, big_id, now, now});
  if (!r.ok()) {
    return r.status();
  }
  const uint64_t id = r->insert_id();
  if (id == 0 || id > std::numeric_limits<uint32_t>::max()) {
    return Status(DBP_E_MYSQL, StrCat("IMRelationShip insert returned id ", id));
  }
  return static_cast<uint32_t>(id);
}

Status ReviveRelation(MysqlConn& conn, uint32_t relate_id, uint32_t now) {
  return conn
      .Execute("UPDATE IMRelationShip SET status = 0, updated = ? WHERE id = ?", {now, relate_id})
      .status();
}

Result<uint64_t> MaxRelationMsgId(MysqlConn& conn, uint32_t relate_id) {
  // One MAX per status value is answered from the (relateId, status, msgId) index without
  // touching rows; statuses other than 0 and 1 do not occur, but cost one empty range read.
  const std::string table = keys::MessageTable(relate_id);
  const std::string max_of =
      StrCat("COALESCE((SELECT MAX(msgId) FROM ", table, " WHERE relateId = ? AND status ");
  auto r = conn.Execute(
      StrCat("SELECT GREATEST(", max_of, "= 0), 0), ", max_of, "= 1), 0), ", max_of, "> 1), 0))"),
      {relate_id, relate_id, relate_id});
  if (!r.ok()) {
    return r.status();
  }
  return r->Uint(0, 0);
}

Status InsertMessage(MysqlConn& conn, const SingleMessageRow& row) {
  return conn
      .Execute(StrCat("INSERT INTO ", keys::MessageTable(row.relate_id),
                      " (relateId, fromId, toId, msgId, content, type, status, created, updated) "
                      "VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)"),
               {row.relate_id, row.from_id, row.to_id, row.msg_id, row.content, row.type,
                row.create_time, row.create_time})
      .status();
}

Result<bool> LockGroup(MysqlConn& conn, uint32_t group_id) {
  auto r = conn.Execute("SELECT id FROM IMGroup WHERE id = ? FOR UPDATE", {group_id});
  if (!r.ok()) {
    return r.status();
  }
  return r->rows() > 0;
}

Result<uint64_t> MaxGroupMsgId(MysqlConn& conn, uint32_t group_id) {
  auto r = conn.Execute(StrCat("SELECT COALESCE(MAX(msgId), 0) FROM ",
                               keys::GroupMessageTable(group_id), " WHERE groupId = ?"),
                        {group_id});
  if (!r.ok()) {
    return r.status();
  }
  return r->Uint(0, 0);
}

Status InsertGroupMessage(MysqlConn& conn, const GroupMessageRow& row) {
  return conn
      .Execute(StrCat("INSERT INTO ", keys::GroupMessageTable(row.group_id),
                      " (groupId, userId, msgId, content, type, status, created, updated) "
                      "VALUES (?, ?, ?, ?, ?, 0, ?, ?)"),
               {row.group_id, row.user_id, row.msg_id, row.content, row.type, row.create_time,
                row.create_time})
      .status();
}

Status TouchGroup(MysqlConn& conn, uint32_t group_id, uint32_t now) {
  return conn.Execute("UPDATE IMGroup SET lastChated = ? WHERE id = ?", {now, group_id}).status();
}

// ---- Reads

Result<uint32_t> FindRelation(MysqlConn& conn, uint32_t small_id, uint32_t big_id) {
  auto r = conn.Execute(
      "SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ? AND status = 0 "
      "ORDER BY id LIMIT 1",
      {small_id, big_id});
  if (!r.ok()) {
    return r.status();
  }
  return r->rows() == 0 ? 0u : U32(*r, 0, 0);
}

Result<std::vector<MessageRow>> ListMessages(MysqlConn& conn, const Conversation& c,
                                             uint32_t msg_id_max, uint32_t limit) {
  const std::string sql = StrCat(SelectMessages(c), " AND msgId <= ? ORDER BY msgId DESC LIMIT ?");
  Result<MysqlResult> r = c.group ? conn.Execute(sql, {c.id, c.visible_from, msg_id_max, limit})
                                  : conn.Execute(sql, {c.id, msg_id_max, limit});
  if (!r.ok()) {
    return r.status();
  }
  return ReadMessageRows(*r);
}

Result<std::vector<MessageRow>> MessagesById(MysqlConn& conn, const Conversation& c,
                                             const std::vector<uint32_t>& ids, uint32_t limit) {
  std::string sql = StrCat(SelectMessages(c), " AND msgId IN (");
  for (size_t i = 0; i < ids.size(); ++i) {
    sql += i == 0 ? "?" : ", ?";
  }
  sql += ") ORDER BY msgId DESC LIMIT ?";

  std::vector<Param> params;
  params.reserve(ids.size() + 3);
  params.emplace_back(c.id);
  if (c.group) {
    params.emplace_back(c.visible_from);
  }
  for (uint32_t id : ids) {
    params.emplace_back(id);
  }
  params.emplace_back(limit);
  auto r = conn.ExecuteSpan(sql, params.data(), params.size());
  if (!r.ok()) {
    return r.status();
  }
  return ReadMessageRows(*r);
}

Result<uint32_t> LatestMsgId(MysqlConn& conn, const Conversation& c) {
  // ORDER BY ... LIMIT 1 walks the (key, status, msgId) / (groupId, msgId, ...) index
  // backwards and stops at the first active row.
  const std::string sql = StrCat("SELECT msgId FROM ", TableOf(c),
                                 c.group ? " WHERE groupId = ?" : " WHERE relateId = ?",
                                 " AND status = 0 ORDER BY msgId DESC LIMIT 1");
  auto r = conn.Execute(sql, {c.id});
  if (!r.ok()) {
    return r.status();
  }
  return r->rows() == 0 ? 0u : U32(*r, 0, 0);
}

}  // namespace dbproxy::plugins::message::store
