#pragma once

// The per-group MySQL named lock (GET_LOCK) that serialises everything that writes a group's
// membership: member changes (0x0407) and rebuilds of the Redis hash group_member_<gid>. The
// lock lives in the MySQL session, so it also serialises several dbproxyd processes sharing
// one database. IMGroupMember has no unique key; this lock is what keeps a user from getting
// two active rows, and a rebuild from writing a member list that a concurrent change has
// already made stale.
//
// The name is "dbproxy.group.<gid>@<database>" (database cut to 35 characters so the name fits
// MySQL's 64), so two databases on one server never share a lock.

#include <cstdint>

#include "dbproxy/sdk/mysql.h"
#include "dbproxy/sdk/status.h"

namespace dbproxy::plugins::group_member {

// Holds the lock of one group on one connection; releases it when destroyed (a connection
// that dies releases it too). Move-only; used by the thread that holds the connection, and
// must be destroyed before the connection is released.
class GroupLock {
 public:
  // Waits up to wait_seconds for the lock. Returns DBP_E_TIMEOUT when another session kept
  // it that long, or the MySQL error.
  static sdk::Result<GroupLock> Acquire(sdk::MysqlConn& conn, uint32_t group_id,
                                        uint32_t wait_seconds);

  GroupLock(GroupLock&& other) noexcept;
  GroupLock& operator=(GroupLock&&) = delete;
  GroupLock(const GroupLock&) = delete;
  GroupLock& operator=(const GroupLock&) = delete;
  ~GroupLock();

 private:
  GroupLock(sdk::MysqlConn* conn, uint32_t group_id) : conn_(conn), group_id_(group_id) {}

  sdk::MysqlConn* conn_;  // null once moved from
  uint32_t group_id_;
};

}  // namespace dbproxy::plugins::group_member
