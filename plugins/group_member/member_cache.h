#pragma once

// The Redis side of group membership: hash group_member_<gid> on instance group_member,
// field = user id, value = the unix time the user (re)joined (TeamTalk's format, §5.2).
// Reads are the fast path of the membership service; writes happen only under the group's
// lock (group_lock.h), after MySQL has committed.

#include <cstdint>
#include <vector>

#include "dbproxy/sdk/plugin.h"
#include "plugins/common/membership.h"

namespace dbproxy::plugins::group_member {

// Cheap to construct; const methods from any worker thread.
class MemberCache {
 public:
  struct Snapshot {
    bool exists = false;                      // the hash is in Redis
    std::vector<membership::Member> members;  // ascending user id
  };

  explicit MemberCache(const sdk::Host& host);

  // Whether user_id is a member: EXISTS and HGET in one pipeline. members holds the user
  // when it is one. Fails on a Redis outage or error reply.
  sdk::Result<Snapshot> ReadOne(uint32_t group_id, uint32_t user_id) const;

  // Every member: one HGETALL (Redis never keeps an empty hash, so no field = no hash).
  // Fields that are not user ids are skipped (counted as "bad_member_field").
  sdk::Result<Snapshot> ReadAll(uint32_t group_id) const;

  // Replaces the whole hash in one MULTI/EXEC, so no reader sees half a list. An empty
  // list leaves no hash.
  sdk::Status Replace(uint32_t group_id, const std::vector<membership::Member>& members) const;

  // Removes `removed` and sets `added`, atomically and only if the hash exists (a Lua
  // script): an incremental write to a missing hash would create a hash that lacks every
  // other member. Returns false when the hash was missing (nothing written).
  sdk::Result<bool> UpdateIfPresent(uint32_t group_id, const std::vector<membership::Member>& added,
                                    const std::vector<uint32_t>& removed) const;

  // Deletes the hash, so that the next reader rebuilds it from MySQL.
  sdk::Status Drop(uint32_t group_id) const;

 private:
  const sdk::Host& host_;
  sdk::Redis redis_;
};

}  // namespace dbproxy::plugins::group_member
