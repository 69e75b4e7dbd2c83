#include "plugins/group_member/change_member.h"

#include <ctime>
#include <map>
#include <set>
#include <string>
#include <unordered_set>

#include "IM.Group.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/group_read_marker.h"
#include "plugins/common/key_format.h"
#include "plugins/group_member/group_lock.h"
#include "plugins/group_member/member_cache.h"
#include "plugins/group_member/member_store.h"

namespace dbproxy::plugins::group_member {
namespace {

using membership::Member;

constexpr uint32_t kTemporaryGroup = 2;

std::vector<uint32_t> UserIds(const std::vector<Member>& members) {
  std::vector<uint32_t> ids;
  ids.reserve(members.size());
  for (const Member& m : members) {
    ids.push_back(m.user_id);
  }
  return ids;
}

}  // namespace

void ChangeMember::Handle(sdk::Request& request) const {
  std::string_view body = request.body();
  IM::Group::IMGroupChangeMemberReq req;
  // On failure req keeps what was read, which is enough to address the failure answer.
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));

  IM::Group::IMGroupChangeMemberRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_change_type(req.has_change_type() ? req.change_type()
                                            : IM::BaseDefine::GROUP_MODIFY_TYPE_ADD);
  rsp.set_group_id(req.group_id());
  rsp.set_result_code(1);
  rsp.set_attach_data(req.attach_data());

  if (!parsed) {
    host_.Warn("cmd=0x0407 seq=", request.seq(), " user=", req.user_id(), " group=", req.group_id(),
               ": body does not parse (missing field or unknown change_type)");
    host_.Count("bad_request");
  } else if (static_cast<uint32_t>(req.member_id_list_size()) > config_.max_members_per_change) {
    host_.Warn("cmd=0x0407 seq=", request.seq(), " user=", req.user_id(), " group=", req.group_id(),
               ": ", req.member_id_list_size(), " member ids, more than max_members_per_change ",
               config_.max_members_per_change);
    host_.Count("too_many_members");
  } else {
    // De-duplicated, request order kept; 0 is never a user.
    std::vector<uint32_t> requested;
    std::unordered_set<uint32_t> seen;
    for (uint32_t id : req.member_id_list()) {
      if (id != 0 && seen.insert(id).second) {
        requested.push_back(id);
      }
    }
    bool add = req.change_type() == IM::BaseDefine::GROUP_MODIFY_TYPE_ADD;
    Outcome outcome = Apply(request.seq(), req.user_id(), req.group_id(), add, requested);
    rsp.set_result_code(outcome.result_code);
    if (outcome.result_code == 0) {
      for (uint32_t id : outcome.current) {
        rsp.add_cur_user_id_list(id);
      }
      for (uint32_t id : outcome.changed) {
        rsp.add_chg_user_id_list(id);
      }
    }
  }
  (void)request.ReplyMessage(sid::kGroup, cid::kGroupChangeMemberRsp, rsp);
}

ChangeMember::Outcome ChangeMember::Apply(uint16_t seq, uint32_t caller, uint32_t group_id,
                                          bool add, const std::vector<uint32_t>& requested) const {
  Outcome failed;
  auto fail = [&](std::string_view what, const sdk::Status& s) {
    host_.Warn("cmd=0x0407 seq=", seq, " user=", caller, " group=", group_id, ": ", what, ": ",
               s.message());
    host_.Count("change_failed");
    return failed;
  };
  uint32_t now = static_cast<uint32_t>(std::time(nullptr));

  // One master connection for the lock, the transaction and the reads they guard (W31).
  auto conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return fail("mysql", conn.status());
  }
  auto lock = GroupLock::Acquire(*conn, group_id, config_.lock_wait_seconds);
  if (!lock.ok()) {
    return fail("group lock", lock.status());
  }
  MemberStore store(*conn);

  auto group = store.LoadGroup(group_id);
  if (!group.ok()) {
    return fail("load group", group.status());
  }
  if (!group->has_value()) {
    host_.Debug("cmd=0x0407 seq=", seq, " group=", group_id, ": no such group");
    host_.Count("change_unknown_group");
    return failed;
  }

  sdk::Transaction tx(*conn);
  if (!tx.begun().ok()) {
    return fail("begin", tx.begun());
  }
  auto before = store.LoadActiveMembers(group_id);
  if (!before.ok()) {
    return fail("load members", before.status());
  }
  std::set<uint32_t> members;
  for (const Member& m : *before) {
    members.insert(m.user_id);
  }

  bool allowed = caller == 0 || (*group)->creator == caller ||
                 (add && (*group)->type == kTemporaryGroup && members.count(caller) > 0);
  if (!allowed) {
    host_.Debug("cmd=0x0407 seq=", seq, " user=", caller, " group=", group_id, ": refused");
    host_.Count("change_refused");
    return failed;
  }

  Outcome outcome;
  outcome.result_code = 0;
  std::vector<Member> added;
  if (add) {
    for (uint32_t id : requested) {
      if (members.count(id) == 0) {
        outcome.changed.push_back(id);
      }
    }
    if (outcome.changed.empty()) {
      // Nothing to add: TeamTalk answers this as a failure, and clients rely on it.
      host_.Debug("cmd=0x0407 seq=", seq, " group=", group_id, ": all already members");
      return failed;
    }
    auto rows = store.LoadRows(group_id, outcome.changed);
    if (!rows.ok()) {
      return fail("load rows", rows.status());
    }
    std::map<uint32_t, uint32_t> newest_row;  // user -> newest row id (they all left)
    for (const MemberRow& row : *rows) {
      uint32_t& id = newest_row[row.user_id];
      if (row.row_id > id) {
        id = row.row_id;
      }
    }
    std::vector<uint32_t> revive;
    std::vector<uint32_t> insert;
    for (uint32_t id : outcome.changed) {
      auto it = newest_row.find(id);
      if (it != newest_row.end()) {
        revive.push_back(it->second);
      } else {
        insert.push_back(id);
      }
      added.push_back({id, now});
    }
    sdk::Status s = store.ReviveRows(revive, now);
    if (s.ok()) {
      s = store.InsertMembers(group_id, insert, now);
    }
    if (!s.ok()) {
      return fail("add members", s);
    }
  } else {
    for (uint32_t id : requested) {
      if (members.count(id) > 0) {
        outcome.changed.push_back(id);
      }
    }
    if (outcome.changed.empty()) {
      outcome.current = UserIds(*before);
      return outcome;  // nobody to remove: nothing changes, nothing is bumped
    }
    sdk::Status s = store.MarkRemoved(group_id, outcome.changed, now);
    if (s.ok()) {
      s = store.DeleteGroupSessions(group_id, outcome.changed, now);
    }
    if (!s.ok()) {
      return fail("remove members", s);
    }
  }

  auto after = store.LoadActiveMembers(group_id);
  if (!after.ok()) {
    return fail("count members", after.status());
  }
  sdk::Status s = store.BumpVersion(group_id, static_cast<uint32_t>(after->size()));
  if (s.ok()) {
    s = tx.Commit();
  }
  if (!s.ok()) {
    return fail("commit", s);
  }

  SyncRedis(group_id, *after, added, add ? std::vector<uint32_t>() : outcome.changed);
  sdk::Status marked = read_marker::MarkGroupRead(host_, group_id, outcome.changed);
  if (!marked.ok()) {
    host_.Warn("group ", group_id,
               ": clearing the changed users' group counters: ", marked.message());
    host_.Count("read_marker_failed");
  }
  outcome.current = UserIds(*after);
  host_.Debug("cmd=0x0407 seq=", seq, " user=", caller, " group=", group_id,
              add ? " added " : " removed ", outcome.changed.size(), ", now ",
              outcome.current.size(), " members");
  return outcome;
}

void ChangeMember::SyncRedis(uint32_t group_id, const std::vector<Member>& after,
                             const std::vector<Member>& added,
                             const std::vector<uint32_t>& removed) const {
  MemberCache cache(host_);
  auto updated = cache.UpdateIfPresent(group_id, added, removed);
  sdk::Status s = updated.status();
  if (updated.ok() && !*updated && !after.empty()) {
    // The hash was missing: an incremental write would leave out everybody else.
    s = cache.Replace(group_id, after);
  }
  if (s.ok()) {
    return;
  }
  host_.Warn("group ", group_id, ": updating ", keys::GroupMembers(group_id), ": ", s.message(),
             "; dropping it so that readers rebuild it from MySQL");
  host_.Count("member_hash_write_failed");
  sdk::Status dropped = cache.Drop(group_id);
  if (!dropped.ok()) {
    host_.Error("group ", group_id, ": cannot drop the stale ", keys::GroupMembers(group_id), ": ",
                dropped.message(), "; it is rebuilt on the first lookup after Redis returns");
    stale_.Add(group_id);
  }
}

}  // namespace dbproxy::plugins::group_member
