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
