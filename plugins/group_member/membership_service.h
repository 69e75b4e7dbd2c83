#pragma once

// cid::kInternalGroupMembers (0xF001, DBP_CMD_INTERNAL): the group membership service every
// module asks through plugins/common/membership.h (is X a member, since when, who is in the
// group). Request and answer encoding are fixed there.
//
// Hit path: one Redis round trip (EXISTS + HGET pipelined for one user, HGETALL for all), no
// SQL. Miss (the hash group_member_<gid> is gone: Redis flushed or restarted, group made
// directly in MySQL, last member left): under the group's lock the hash is checked again and,
// if still missing, rebuilt from IMGroupMember rows with status 0 (value = `updated`) before
// answering (W16). With no member rows, a group that has its IMGroup row is answered kOk with
// no members (it stays usable after its last member left); without the row, kNoGroup.
// If Redis cannot be read at all, the answer comes from MySQL alone (nothing is written).

#include <cstdint>

#include "dbproxy/sdk/plugin.h"
#include "plugins/common/membership.h"
#include "plugins/group_member/config.h"
#include "plugins/group_member/stale_groups.h"

namespace dbproxy::plugins::group_member {

// Stateless apart from borrowed references; Handle() runs on any worker thread, concurrently.
class MembershipService {
 public:
  MembershipService(const sdk::Host& host, const Config& config, StaleGroups& stale)
      : host_(host), config_(config), stale_(stale) {}

  // Decodes the request, answers it. A malformed body is answered kError.
  void Handle(sdk::Request& request) const;

  // The answer for (group_id, user_id); user_id 0 = every member.
  membership::Answer Resolve(uint32_t group_id, uint32_t user_id) const;

 private:
  // The hash is missing: rebuild it under the group's lock, then answer.
  membership::Answer Rebuild(uint32_t group_id, uint32_t user_id) const;
  // Redis is unreadable: answer from MySQL without touching Redis.
  membership::Answer FromMysql(uint32_t group_id, uint32_t user_id) const;

  const sdk::Host& host_;
  const Config& config_;
  StaleGroups& stale_;
};

}  // namespace dbproxy::plugins::group_member
