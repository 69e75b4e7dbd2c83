#include "plugins/session/session_write_behind.h"

#include <algorithm>
#include <utility>

namespace dbproxy::plugins::session {
namespace {

constexpr uint32_t kTypeSingle = 1;
constexpr uint32_t kTypeGroup = 2;

}  // namespace

std::vector<SessionStore::Touch> SessionWriteBehind::AddLocked(
    uint32_t type, const std::vector<SessionStore::Touch>& touches) {
  std::vector<SessionStore::Touch> overflow;
  for (const SessionStore::Touch& t : touches) {
    const Key key{type, t.user_id, t.peer_id};
    auto it = pending_.find(key);
    if (it != pending_.end()) {
      it->second = std::max(it->second, t.updated);
    } else if (pending_.size() < kMaxPending) {
      pending_.emplace(key, t.updated);
    } else {
      overflow.push_back(t);
    }
  }
  return overflow;
}

SessionStore::TouchResult SessionWriteBehind::Write(
    const std::vector<SessionStore::Touch>& singles,
    const std::vector<SessionStore::Touch>& groups) {
  if (!write_behind()) {
    return store_.TouchSessions(singles, groups);
  }
  std::vector<SessionStore::Touch> single_overflow;
  std::vector<SessionStore::Touch> group_overflow;
  {
    std::lock_guard<std::mutex> lock(mu_);
    single_overflow = AddLocked(kTypeSingle, singles);
    group_overflow = AddLocked(kTypeGroup, groups);
  }
  if (single_overflow.empty() && group_overflow.empty()) {
    return SessionStore::TouchResult{};
  }
  host_.Count("session_write_behind_full");
  return store_.TouchSessions(single_overflow, group_overflow);
}

void SessionWriteBehind::Requeue(uint32_t type, const std::vector<SessionStore::Touch>& touches) {
  std::vector<SessionStore::Touch> overflow;
  {
    std::lock_guard<std::mutex> lock(mu_);
    overflow = AddLocked(type, touches);
  }
  if (!overflow.empty()) {
    host_.Error(overflow.size(), " session updates of type ", type,
                " lost: write failed and the pending set is full");
    host_.Count("sessions_lost", static_cast<int64_t>(overflow.size()));
  }
}

void SessionWriteBehind::Flush(bool final) {
  if (!write_behind()) {
    return;
  }
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  Pending batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) {
    return;
  }
  std::vector<SessionStore::Touch> singles;
  std::vector<SessionStore::Touch> groups;
  for (const auto& [key, updated] : batch) {
    const auto& [type, user, peer] = key;
    (type == kTypeSingle ? singles : groups).push_back({user, peer, updated});
  }
  SessionStore::TouchResult result = store_.TouchSessions(singles, groups);
  host_.Count("session_flushes");
  auto settle = [&](uint32_t type, const sdk::Status& status,
                    const std::vector<SessionStore::Touch>& touches) {
    if (status.ok() || touches.empty()) {
      return;
    }
    host_.Count("session_errors", static_cast<int64_t>(touches.size()));
    if (final) {
      host_.Error(touches.size(), " pending session updates of type ", type,
                  " lost at shutdown: ", status.message());
      host_.Count("sessions_lost", static_cast<int64_t>(touches.size()));
      return;
    }
    host_.Warn(touches.size(), " session updates of type ", type,
               " not written (kept for the next flush): ", status.message());
    Requeue(type, touches);
  };
  settle(kTypeSingle, result.singles, singles);
  settle(kTypeGroup, result.groups, groups);
}

}  // namespace dbproxy::plugins::session
