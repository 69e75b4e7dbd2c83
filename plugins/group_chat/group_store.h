#pragma once

// The MySQL side of group_chat: IMGroup (the groups) and IMGroupMember (who is in which
// group; status 0 member, 1 left). Membership *checks* go through the membership service
// of the group_member module, never through these tables directly.

#include <cstdint>
#include <string>
#include <vector>

#include "dbproxy/sdk/mysql.h"
#include "dbproxy/sdk/status.h"

namespace dbproxy::plugins::group_chat {

struct GroupVersion {
  uint32_t group_id = 0;
  uint32_t version = 0;
};

struct GroupRecord {
  uint32_t group_id = 0;
  uint32_t version = 0;
  uint32_t creator = 0;
  uint32_t type = 0;  // 1 normal, 2 temporary
  std::string name;
  std::string avatar;
};

struct NewGroup {
  std::string name;
  std::string avatar;
  uint32_t creator = 0;
  uint32_t type = 0;
  std::vector<uint32_t> members;  // distinct, non-zero
  uint32_t now = 0;
};

// Statements on one borrowed connection; the thread that holds it.
class GroupStore {
 public:
  explicit GroupStore(sdk::MysqlConn& conn) : conn_(conn) {}

  // The normal groups (type 1) the user is an active member of, newest `updated` first, at
  // most limit of them.
  sdk::Result<std::vector<GroupVersion>> NormalGroupsOfUser(uint32_t user_id, uint32_t limit);

  // The IMGroup rows of these ids, newest `updated` first. REQUIRES: !ids.empty().
  sdk::Result<std::vector<GroupRecord>> LoadGroups(const std::vector<uint32_t>& ids);

  // In one transaction: the IMGroup row (status 0, version 1, userCnt = member count,
  // lastChated 0, created = updated = now), then one IMGroupMember row per member, after
  // deleting member rows a previous group with the same id may have left. Returns the id.
  // REQUIRES: a master connection; no transaction open.
  sdk::Result<uint32_t> Create(const NewGroup& group);

 private:
  sdk::MysqlConn& conn_;
};

}  // namespace dbproxy::plugins::group_chat
