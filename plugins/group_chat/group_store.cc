#include "plugins/group_chat/group_store.h"

#include "plugins/common/sql_in_list.h"

namespace dbproxy::plugins::group_chat {
namespace {

// Rows per multi-row INSERT (a power of two, see sql::Batches).
constexpr size_t kInsertBatch = 256;

}  // namespace

sdk::Result<std::vector<GroupVersion>> GroupStore::NormalGroupsOfUser(uint32_t user_id,
                                                                      uint32_t limit) {
  // One statement instead of "ids of the user's groups" + "those of type 1": the cap then
  // counts normal groups only, and no IN list grows with the user's group count.
  auto rows = conn_.Execute(
      "SELECT g.id, g.version FROM IMGroup g JOIN "
      "(SELECT DISTINCT groupId FROM IMGroupMember WHERE userId = ? AND status = 0) m "
      "ON m.groupId = g.id WHERE g.type = 1 ORDER BY g.updated DESC, g.id DESC LIMIT ?",
      {user_id, limit});
  if (!rows.ok()) {
    return rows.status();
  }
  std::vector<GroupVersion> out;
  out.reserve(rows->rows());
  for (size_t i = 0; i < rows->rows(); ++i) {
    out.push_back(
        {static_cast<uint32_t>(rows->Uint(i, 0)), static_cast<uint32_t>(rows->Uint(i, 1))});
  }
  return out;
}

sdk::Result<std::vector<GroupRecord>> GroupStore::LoadGroups(const std::vector<uint32_t>& ids) {
  std::vector<sdk::Param> params;
  sql::AppendPadded(&params, ids);
  std::string text = "SELECT id, version, creator, type, name, avatar FROM IMGroup WHERE id IN " +
                     sql::InList(ids.size()) + " ORDER BY updated DESC, id DESC";
  auto rows = conn_.ExecuteSpan(text, params.data(), params.size());
  if (!rows.ok()) {
    return rows.status();
  }
  std::vector<GroupRecord> out;
  out.reserve(rows->rows());
  for (size_t i = 0; i < rows->rows(); ++i) {
    GroupRecord g;
    g.group_id = static_cast<uint32_t>(rows->Uint(i, 0));
    g.version = static_cast<uint32_t>(rows->Uint(i, 1));
    g.creator = static_cast<uint32_t>(rows->Uint(i, 2));
    g.type = static_cast<uint32_t>(rows->Uint(i, 3));
    g.name = std::string(rows->Text(i, 4));
    g.avatar = std::string(rows->Text(i, 5));
    out.push_back(std::move(g));
  }
  return out;
}

sdk::Result<uint32_t> GroupStore::Create(const NewGroup& group) {
  sdk::Transaction tx(conn_);
  if (!tx.begun().ok()) {
    return tx.begun();
  }
  auto inserted = conn_.Execute(
      "INSERT INTO IMGroup (name, avatar, creator, type, userCnt, status, version, lastChated, "
      "updated, created) VALUES (?, ?, ?, ?, ?, 0, 1, 0, ?, ?)",
      {group.name, group.avatar, group.creator, group.type,
       static_cast<uint32_t>(group.members.size()), group.now, group.now});
  if (!inserted.ok()) {
    return inserted.status();
  }
  uint32_t group_id = static_cast<uint32_t>(inserted->insert_id());
  if (group_id == 0) {
    return sdk::Status(DBP_E_MYSQL, "IMGroup insert returned no id");
  }

  // Rows of a group that had this id before (tables restored or truncated apart) must not
  // make strangers members of the new group.
  auto stale = conn_.Execute("DELETE FROM IMGroupMember WHERE groupId = ?", {group_id});
  if (!stale.ok()) {
    return stale.status();
  }

  size_t at = 0;
  for (size_t batch : sql::Batches(group.members.size(), kInsertBatch)) {
    std::string text =
        "INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES ";
    std::vector<sdk::Param> params;
    for (size_t i = 0; i < batch; ++i) {
      text.append(i == 0 ? "(?,?,0,?,?)" : ",(?,?,0,?,?)");
      params.insert(params.end(), {group_id, group.members[at + i], group.now, group.now});
    }
    at += batch;
    auto rows = conn_.ExecuteSpan(text, params.data(), params.size());
    if (!rows.ok()) {
      return rows.status();
    }
  }
  sdk::Status committed = tx.Commit();
  if (!committed.ok()) {
    return committed;
  }
  return group_id;
}

}  // namespace dbproxy::plugins::group_chat
