#include "plugins/group_member/member_store.h"

#include <string>

#include "plugins/common/sql_in_list.h"

namespace dbproxy::plugins::group_member {
namespace {

// Rows per multi-row INSERT (a power of two, see sql::Batches).
constexpr size_t kInsertBatch = 256;

sdk::Status Run(sdk::MysqlConn& conn, const std::string& sql,
                const std::vector<sdk::Param>& params) {
  auto result = conn.ExecuteSpan(sql, params.data(), params.size());
  return result.ok() ? sdk::Status() : result.status();
}

}  // namespace

sdk::Result<std::optional<GroupRow>> MemberStore::LoadGroup(uint32_t group_id) {
  auto rows = conn_.Execute("SELECT creator, type FROM IMGroup WHERE id = ?", {group_id});
  if (!rows.ok()) {
    return rows.status();
  }
  if (rows->rows() == 0) {
    return std::optional<GroupRow>();
  }
  GroupRow row;
  row.creator = static_cast<uint32_t>(rows->Uint(0, 0));
  row.type = static_cast<uint32_t>(rows->Uint(0, 1));
  return std::optional<GroupRow>(row);
}

sdk::Result<std::vector<membership::Member>> MemberStore::LoadActiveMembers(uint32_t group_id) {
  auto rows = conn_.Execute(
      "SELECT userId, MAX(updated) FROM IMGroupMember WHERE groupId = ? AND status = 0 "
      "GROUP BY userId ORDER BY userId",
      {group_id});
  if (!rows.ok()) {
    return rows.status();
  }
  std::vector<membership::Member> members;
  members.reserve(rows->rows());
  for (size_t i = 0; i < rows->rows(); ++i) {
    uint32_t user_id = static_cast<uint32_t>(rows->Uint(i, 0));
    if (user_id == 0) {
      continue;  // never a user; a stray row must not become "everyone"
    }
    members.push_back({user_id, static_cast<uint32_t>(rows->Uint(i, 1))});
  }
  return members;
}

sdk::Result<std::vector<MemberRow>> MemberStore::LoadRows(uint32_t group_id,
                                                          const std::vector<uint32_t>& user_ids) {
  std::vector<sdk::Param> params = {group_id};
  sql::AppendPadded(&params, user_ids);
  std::string text =
      "SELECT id, userId, status FROM IMGroupMember WHERE groupId = ? AND userId IN " +
      sql::InList(user_ids.size());
  auto rows = conn_.ExecuteSpan(text, params.data(), params.size());
  if (!rows.ok()) {
    return rows.status();
  }
  std::vector<MemberRow> out;
  for (size_t i = 0; i < rows->rows(); ++i) {
    out.push_back({static_cast<uint32_t>(rows->Uint(i, 0)), static_cast<uint32_t>(rows->Uint(i, 1)),
                   static_cast<uint32_t>(rows->Uint(i, 2))});
  }
  return out;
}

sdk::Status MemberStore::InsertMembers(uint32_t group_id, const std::vector<uint32_t>& user_ids,
                                       uint32_t now) {
  size_t at = 0;
  for (size_t batch : sql::Batches(user_ids.size(), kInsertBatch)) {
    std::string text =
        "INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES ";
    std::vector<sdk::Param> params;
    for (size_t i = 0; i < batch; ++i) {
      text.append(i == 0 ? "(?,?,0,?,?)" : ",(?,?,0,?,?)");
      params.insert(params.end(), {group_id, user_ids[at + i], now, now});
    }
    at += batch;
    sdk::Status s = Run(conn_, text, params);
    if (!s.ok()) {
      return s;
    }
  }
  return sdk::Status();
}

sdk::Status MemberStore::ReviveRows(const std::vector<uint32_t>& row_ids, uint32_t now) {
  if (row_ids.empty()) {
    return sdk::Status();
  }
  std::vector<sdk::Param> params = {now};
  sql::AppendPadded(&params, row_ids);
  return Run(
      conn_,
      "UPDATE IMGroupMember SET status = 0, updated = ? WHERE id IN " + sql::InList(row_ids.size()),
      params);
}

sdk::Status MemberStore::MarkRemoved(uint32_t group_id, const std::vector<uint32_t>& user_ids,
                                     uint32_t now) {
  if (user_ids.empty()) {
    return sdk::Status();
  }
  std::vector<sdk::Param> params = {now, group_id};
  sql::AppendPadded(&params, user_ids);
  return Run(conn_,
             "UPDATE IMGroupMember SET status = 1, updated = ? WHERE groupId = ? AND status = 0 "
             "AND userId IN " +
                 sql::InList(user_ids.size()),
             params);
}

sdk::Status MemberStore::BumpVersion(uint32_t group_id, uint32_t member_count) {
  return Run(conn_, "UPDATE IMGroup SET version = version + 1, userCnt = ? WHERE id = ?",
             {member_count, group_id});
}

sdk::Status MemberStore::DeleteGroupSessions(uint32_t group_id,
                                             const std::vector<uint32_t>& user_ids, uint32_t now) {
  if (user_ids.empty()) {
    return sdk::Status();
  }
  std::vector<sdk::Param> params = {now, group_id};
  sql::AppendPadded(&params, user_ids);
  return Run(conn_,
             "UPDATE IMRecentSession SET status = 1, updated = ? WHERE peerId = ? AND type = 2 "
             "AND status = 0 AND userId IN " +
                 sql::InList(user_ids.size()),
             params);
}

}  // namespace dbproxy::plugins::group_member
