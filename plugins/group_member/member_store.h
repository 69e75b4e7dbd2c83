#pragma once

// The MySQL side of group membership: IMGroup (creator, type, version, userCnt),
// IMGroupMember (one row per user and group; status 0 member, 1 left) and the group sessions
// of removed members in IMRecentSession. MySQL is the source of truth; the Redis hash is
// rebuilt from it (member_cache.h).
//
// IMGroupMember has no unique key and old data may hold duplicate rows, so every read
// collapses rows per user, and writers hold the group's lock (group_lock.h).

#include <cstdint>
#include <optional>
#include <vector>

#include "dbproxy/sdk/mysql.h"
#include "dbproxy/sdk/status.h"
#include "plugins/common/membership.h"

namespace dbproxy::plugins::group_member {

struct GroupRow {
  uint32_t creator = 0;
  uint32_t type = 0;  // 1 normal, 2 temporary
};

struct MemberRow {
  uint32_t row_id = 0;
  uint32_t user_id = 0;
  uint32_t status = 0;
};

// Statements on one borrowed connection (teamtalk_master: these reads must see the writes
// they guard). Used by the thread that holds the connection; the caller owns transactions.
class MemberStore {
 public:
  explicit MemberStore(sdk::MysqlConn& conn) : conn_(conn) {}

  // The group's row; nullopt if there is none.
  sdk::Result<std::optional<GroupRow>> LoadGroup(uint32_t group_id);

  // Users with an active row (status 0), ascending; join time = their newest `updated`.
  sdk::Result<std::vector<membership::Member>> LoadActiveMembers(uint32_t group_id);

  // Every row (any status) of these users in the group. REQUIRES: !user_ids.empty().
  sdk::Result<std::vector<MemberRow>> LoadRows(uint32_t group_id,
                                               const std::vector<uint32_t>& user_ids);

  // New rows (status 0, created = updated = now). REQUIRES: the users have no row yet.
  sdk::Status InsertMembers(uint32_t group_id, const std::vector<uint32_t>& user_ids, uint32_t now);

  // Sets status 0, updated = now on these rows (members who left and come back).
  sdk::Status ReviveRows(const std::vector<uint32_t>& row_ids, uint32_t now);

  // Sets status 1, updated = now on the users' active rows.
  sdk::Status MarkRemoved(uint32_t group_id, const std::vector<uint32_t>& user_ids, uint32_t now);

  // version = version + 1 and userCnt = member_count.
  sdk::Status BumpVersion(uint32_t group_id, uint32_t member_count);

  // Marks the users' sessions with the group deleted (status 1, updated = now).
  sdk::Status DeleteGroupSessions(uint32_t group_id, const std::vector<uint32_t>& user_ids,
                                  uint32_t now);

 private:
  sdk::MysqlConn& conn_;
};

}  // namespace dbproxy::plugins::group_member
