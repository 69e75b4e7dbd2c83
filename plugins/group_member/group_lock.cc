#include "plugins/group_member/group_lock.h"

#include <utility>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::group_member {
namespace {

constexpr const char* kAcquireSql =
    "SELECT GET_LOCK(CONCAT('dbproxy.group.', ?, '@', LEFT(IFNULL(DATABASE(), ''), 35)), ?)";
constexpr const char* kReleaseSql =
    "SELECT RELEASE_LOCK(CONCAT('dbproxy.group.', ?, '@', LEFT(IFNULL(DATABASE(), ''), 35)))";

}  // namespace

sdk::Result<GroupLock> GroupLock::Acquire(sdk::MysqlConn& conn, uint32_t group_id,
                                          uint32_t wait_seconds) {
  auto rows = conn.Execute(kAcquireSql, {group_id, wait_seconds});
  if (!rows.ok()) {
    return rows.status();
  }
  // GET_LOCK answers 1 (taken), 0 (timed out) or NULL (error, e.g. killed).
  if (rows->rows() != 1 || rows->Uint(0, 0) != 1) {
    return sdk::Status(DBP_E_TIMEOUT, sdk::StrCat("group ", group_id, " lock not taken within ",
                                                  wait_seconds, " s"));
  }
  return GroupLock(&conn, group_id);
}

GroupLock::GroupLock(GroupLock&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)), group_id_(other.group_id_) {}

GroupLock::~GroupLock() {
  if (conn_ == nullptr || !conn_->held()) {
    return;
  }
  // A failed release means the session is gone, and the lock with it.
  (void)conn_->Execute(kReleaseSql, {group_id_});
}

}  // namespace dbproxy::plugins::group_member
