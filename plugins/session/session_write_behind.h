#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "dbproxy/sdk/plugin.h"
#include "plugins/session/session_store.h"

namespace dbproxy::plugins::session {

// Coalesces the session touches of stored messages (SessionStore::TouchSessions) for at
// most one flush interval, so a conversation with many messages costs one session write
// per interval instead of one per batch. Touching a session twice is the same as once
// with the larger `updated` (session_store.h), so coalescing leaves the same rows.
//
// delay_ms == 0 writes through: Write() calls TouchSessions at once and returns its result.
// Otherwise Write() only records the touches (returns OK) and Flush() -- from the module's
// timer every delay_ms and from the module's Shutdown (reload, SIGTERM) -- writes every
// pending touch in one TouchSessions call; FlushUser(user) -- from the readers of a user's
// rows: the recent-session list, a removal -- writes only that user's pending sessions,
// so frequent lists (one per login) do not turn write-behind back into write-through. A touch whose
// write fails stays pending and is written by a later flush (logged and counted as session_errors
// per session); only a failure in the last flush at shutdown loses it (logged as an error, counted
// as sessions_lost). At most kMaxPending distinct sessions are held; touches of further sessions
// are written through.
//
// Thread: any worker, concurrently. Flushes never overlap (one at a time, in order).
class SessionWriteBehind {
 public:
  SessionWriteBehind(const sdk::Host& host, SessionStore& store, uint32_t delay_ms)
      : host_(host), store_(store), delay_ms_(delay_ms) {}
  SessionWriteBehind(const SessionWriteBehind&) = delete;
  SessionWriteBehind& operator=(const SessionWriteBehind&) = delete;

  bool write_behind() const { return delay_ms_ != 0; }

  // Writes (write-through) or records the touches; see the class comment.
  SessionStore::TouchResult Write(const std::vector<SessionStore::Touch>& singles,
                                  const std::vector<SessionStore::Touch>& groups);

  // Writes every touch pending at the time of the call. final: the last flush (Shutdown);
  // what still fails is reported lost instead of kept.
  void Flush(bool final = false);

  // Writes the pending touches of user's own sessions (userId = user).
  void FlushUser(uint32_t user);

  static constexpr size_t kMaxPending = 1 << 20;

 private:
  // user -> ((type << 32) | peer -> largest updated)
  using Sessions = std::unordered_map<uint64_t, uint32_t>;
  using Pending = std::unordered_map<uint32_t, Sessions>;

  // Adds the touches of one type to pending; returns those that did not fit.
  std::vector<SessionStore::Touch> AddLocked(uint32_t type,
                                             const std::vector<SessionStore::Touch>& touches);
  // Puts back the touches of one type whose write failed.
  void Requeue(uint32_t type, const std::vector<SessionStore::Touch>& touches);
  // Writes batch; final as for Flush. REQUIRES: flush_mu_ held.
  void WriteLocked(const Pending& batch, bool final);

  const sdk::Host& host_;
  SessionStore& store_;
  const uint32_t delay_ms_;
  std::mutex flush_mu_;  // held by a flush for its whole duration
  std::mutex mu_;
  Pending pending_;              // guarded by mu_
  size_t pending_sessions_ = 0;  // sessions in pending_; guarded by mu_
};

}  // namespace dbproxy::plugins::session
