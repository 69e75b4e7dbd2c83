#pragma once

// CID_GROUP_CHANGE_MEMBER_REQUEST 0x0407 -> CID_GROUP_CHANGE_MEMBER_RESPONSE 0x0408 (SID 4),
// spec H23 with its defects fixed.
//
// Who may change: user 0 (http_msg_server, the admin) anything; in a temporary group (type
// 2) any current member may ADD (the original let non-members add too, W17); otherwise only
// the group's creator. Everyone else gets result 1 with empty lists.
//
// Under the group's MySQL lock and in one transaction: ADD inserts users that have no row
// and revives the newest row of users who left (never a duplicate row); DEL sets status 1 on
// the members' rows and marks their group sessions deleted; then IMGroup.version + 1 and
// userCnt = the counted members (W14). After the commit, still under the lock: the Redis
// member hash is updated (or rebuilt if it was missing), and the changed users' group read
// markers are set to the group's message count. The whole change runs in one order strand
// per group (order_key.h), so changes of one group run in arrival order.
//
// Result 1 (with empty lists) for: a body that does not parse (e.g. an unknown change_type;
// change_type is then answered as ADD), an unknown group, a refused caller, more than
// max_members_per_change ids, an ADD that adds nobody (as the original), a storage failure.
// A DEL that removes nobody answers 0 with the current members and changes nothing.

#include <cstdint>
#include <vector>

#include "dbproxy/sdk/plugin.h"
#include "plugins/common/membership.h"
#include "plugins/group_member/config.h"
#include "plugins/group_member/stale_groups.h"

namespace dbproxy::plugins::group_member {

// Stateless apart from borrowed references; Handle() runs on any worker thread.
class ChangeMember {
 public:
  ChangeMember(const sdk::Host& host, const Config& config, StaleGroups& stale)
      : host_(host), config_(config), stale_(stale) {}

  void Handle(sdk::Request& request) const;

 private:
  struct Outcome {
    uint32_t result_code = 1;
    std::vector<uint32_t> current;  // members after the change, ascending
    std::vector<uint32_t> changed;  // added (ADD) or removed (DEL), in request order
  };

  Outcome Apply(uint16_t seq, uint32_t caller, uint32_t group_id, bool add,
                const std::vector<uint32_t>& requested) const;
  // Brings the Redis member hash in line after the commit. Failures are logged, not
  // answered: MySQL already holds the change, and a dropped hash is rebuilt from it.
  void SyncRedis(uint32_t group_id, const std::vector<membership::Member>& after,
                 const std::vector<membership::Member>& added,
                 const std::vector<uint32_t>& removed) const;

  const sdk::Host& host_;
  const Config& config_;
  StaleGroups& stale_;
};

}  // namespace dbproxy::plugins::group_member
