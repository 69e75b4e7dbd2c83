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
    const uint64_t session = (uint64_t{type} << 32) | t.peer_id;
    auto user = pending_.find(t.user_id);
    if (user != pending_.end()) {
      auto it = user->second.find(session);
      if (it != user->second.end()) {
        it->second = std::max(it->second, t.updated);
        continue;
      }
    }
    if (pending_sessions_ >= kMaxPending) {
      overflow.push_back(t);
      continue;
    }
    pending_[t.user_id].emplace(session, t.updated);
    ++pending_sessions_;
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
    pending_sessions_ = 0;
  }
  WriteLocked(batch, final);
}

void SessionWriteBehind::FlushUser(uint32_t user) {
  if (!write_behind()) {
    return;
  }
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  Pending batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(user);
    if (it == pending_.end()) {
      return;
    }
    pending_sessions_ -= it->second.size();
    batch.emplace(user, std::move(it->second));
    pending_.erase(it);
  }
  WriteLocked(batch, /*final=*/false);
}

void SessionWriteBehind::WriteLocked(const Pending& batch, bool final) {
  if (batch.empty()) {
    return;
  }
  std::vector<SessionStore::Touch> singles;
  std::vector<SessionStore::Touch> groups;
  for (const auto& [user, sessions] : batch) {
    for (const auto& [session, updated] : sessions) {
      const uint32_t type = static_cast<uint32_t>(session >> 32);
      const uint32_t peer = static_cast<uint32_t>(session);
      (type == kTypeSingle ? singles : groups).push_back({user, peer, updated});
    }
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
