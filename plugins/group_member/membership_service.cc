#include "plugins/group_member/membership_service.h"

#include <optional>
#include <utility>
#include <vector>

#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/group_member/group_lock.h"
#include "plugins/group_member/member_cache.h"
#include "plugins/group_member/member_store.h"

namespace dbproxy::plugins::group_member {
namespace {

using membership::Answer;
using membership::Lookup;
using membership::Member;

Answer Error() { return Answer{Lookup::kError, {}}; }

// kOk with everyone, or with just user_id (if a member) when user_id is not 0.
Answer Found(std::vector<Member> members, uint32_t user_id) {
  Answer answer{Lookup::kOk, {}};
  if (user_id == 0) {
    answer.members = std::move(members);
    return answer;
  }
  for (const Member& m : members) {
    if (m.user_id == user_id) {
      answer.members.push_back(m);
    }
  }
  return answer;
}

// The members from MySQL; nullopt when the group has neither members nor an IMGroup row.
sdk::Result<std::optional<std::vector<Member>>> LoadFromMysql(MemberStore& store,
                                                              uint32_t group_id) {
  auto members = store.LoadActiveMembers(group_id);
  if (!members.ok()) {
    return members.status();
  }
  if (!members->empty()) {
    return std::optional<std::vector<Member>>(std::move(*members));
  }
  auto group = store.LoadGroup(group_id);
  if (!group.ok()) {
    return group.status();
  }
  if (!group->has_value()) {
    return std::optional<std::vector<Member>>();
  }
  return std::optional<std::vector<Member>>(std::vector<Member>());
}

}  // namespace

void MembershipService::Handle(sdk::Request& request) const {
  std::string_view body = request.body();
  Answer answer = Error();
  if (body.size() == 8) {
    answer = Resolve(membership::GetU32(body, 0), membership::GetU32(body, 4));
  } else {
    host_.Warn("membership query with a ", body.size(), "-byte body (want 8)");
    host_.Count("bad_membership_query");
  }
  (void)request.Reply(sid::kGroup, cid::kInternalGroupMembers, membership::EncodeAnswer(answer));
}

Answer MembershipService::Resolve(uint32_t group_id, uint32_t user_id) const {
  if (group_id == 0) {
    return Answer{Lookup::kNoGroup, {}};
  }
  MemberCache cache(host_);
  if (stale_.Contains(group_id)) {
    // A change committed while Redis was down left this hash behind; drop it now that
    // Redis may answer, so the rebuild below reads MySQL.
    if (cache.Drop(group_id).ok()) {
      stale_.Remove(group_id);
    }
  }
  auto snapshot = user_id != 0 ? cache.ReadOne(group_id, user_id) : cache.ReadAll(group_id);
  if (!snapshot.ok()) {
    host_.Warn("group ", group_id, ": reading ", keys::GroupMembers(group_id),
               " failed, answering from MySQL: ", snapshot.status().message());
    host_.Count("membership_redis_fallback");
    return FromMysql(group_id, user_id);
  }
  if (snapshot->exists) {
    return Answer{Lookup::kOk, std::move(snapshot->members)};
  }
  return Rebuild(group_id, user_id);
}

Answer MembershipService::Rebuild(uint32_t group_id, uint32_t user_id) const {
  auto conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    host_.Warn("group ", group_id, ": rebuild of the member hash: ", conn.status().message());
    host_.Count("membership_rebuild_failed");
    return Error();
  }
  auto lock = GroupLock::Acquire(*conn, group_id, config_.lock_wait_seconds);
  if (!lock.ok()) {
    host_.Warn("group ", group_id, ": rebuild of the member hash: ", lock.status().message());
    host_.Count("membership_rebuild_failed");
    return Error();
  }
  // A change or another rebuild may have written the hash while we waited for the lock.
  MemberCache cache(host_);
  auto again = cache.ReadAll(group_id);
  if (again.ok() && again->exists) {
    return Found(std::move(again->members), user_id);
  }

  MemberStore store(*conn);
  auto members = LoadFromMysql(store, group_id);
  if (!members.ok()) {
    host_.Warn("group ", group_id, ": rebuild of the member hash: ", members.status().message());
    host_.Count("membership_rebuild_failed");
    return Error();
  }
  if (!members->has_value()) {
    return Answer{Lookup::kNoGroup, {}};
  }
  if (!(*members)->empty() && again.ok()) {
    sdk::Status written = cache.Replace(group_id, **members);
    if (written.ok()) {
      host_.Info("group ", group_id, ": rebuilt ", keys::GroupMembers(group_id), " with ",
                 (*members)->size(), " members from MySQL");
      host_.Count("membership_rebuilt");
    } else {
      // The answer below is still right: it comes from MySQL.
      host_.Warn("group ", group_id, ": writing the rebuilt member hash: ", written.message());
      host_.Count("membership_rebuild_write_failed");
    }
  }
  return Found(std::move(**members), user_id);
}

Answer MembershipService::FromMysql(uint32_t group_id, uint32_t user_id) const {
  auto conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return Error();
  }
  MemberStore store(*conn);
  auto members = LoadFromMysql(store, group_id);
  if (!members.ok()) {
    host_.Warn("group ", group_id, ": member lookup in MySQL: ", members.status().message());
    return Error();
  }
  if (!members->has_value()) {
    return Answer{Lookup::kNoGroup, {}};
  }
  return Found(std::move(**members), user_id);
}

}  // namespace dbproxy::plugins::group_member
