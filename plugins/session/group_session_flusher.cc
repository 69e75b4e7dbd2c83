#include "plugins/session/group_session_flusher.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "plugins/common/membership.h"

namespace dbproxy::plugins::session {

void GroupSessionFlusher::MarkDirty(uint32_t group_id, uint32_t stored_at) {
  std::lock_guard<std::mutex> lock(mu_);
  Dirty& d = dirty_[group_id];
  d.updated = std::max(d.updated, stored_at);
}

void GroupSessionFlusher::Requeue(uint32_t group_id, Dirty d) {
  if (++d.attempts >= kMaxAttempts) {
    host_.Warn("group ", group_id, ": member sessions not synced after ", d.attempts,
               " attempts; giving up until its next message");
    host_.Count("group_sync_dropped");
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  Dirty& slot = dirty_[group_id];
  slot.updated = std::max(slot.updated, d.updated);
  slot.attempts = std::max(slot.attempts, d.attempts);
}

void GroupSessionFlusher::Flush() {
  std::unordered_map<uint32_t, Dirty> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(dirty_);
  }
  for (const auto& [group_id, d] : batch) {
    membership::Answer members = membership::Query(host_, group_id, 0);
    if (members.status == membership::Lookup::kNoGroup) {
      host_.Debug("group ", group_id, " no longer exists; member sessions not synced");
      continue;
    }
    if (members.status != membership::Lookup::kOk) {
      host_.Warn("group ", group_id, ": member list unavailable; sync retried");
      host_.Count("group_sync_errors");
      Requeue(group_id, d);
      continue;
    }
    std::vector<uint32_t> ids;
    ids.reserve(members.members.size());
    for (const membership::Member& m : members.members) {
      ids.push_back(m.user_id);
    }
    sdk::Status s = store_.SyncGroupMembers(group_id, ids, d.updated);
    if (!s.ok()) {
      host_.Warn("group ", group_id, ": member sessions not synced (", ids.size(),
                 " members): ", s.message());
      host_.Count("group_sync_errors");
      Requeue(group_id, d);
      continue;
    }
    host_.Count("group_syncs");
  }
}

}  // namespace dbproxy::plugins::session
