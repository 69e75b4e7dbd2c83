#pragma once

// The names of the MySQL named locks (plugins/common/named_locks.h, Scope::kDatabase) under
// which a recent-session row (IMRecentSession, no unique key in the original schema) is
// created. Every writer that creates session rows takes them: the session module after a
// message is stored, and the message module when a conversation's first message commits
// together with its sessions. One name per single-chat pair (both sides' rows) and one per
// group (every member's row).

#include <algorithm>
#include <cstdint>
#include <string>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::session_locks {

inline constexpr uint32_t kTypeSingle = 1;
inline constexpr uint32_t kTypeGroup = 2;

inline std::string SingleSession(uint32_t a, uint32_t b) {
  return sdk::StrCat("dbproxy.sess.", std::min(a, b), ".", std::max(a, b));
}
inline std::string GroupSession(uint32_t group_id) {
  return sdk::StrCat("dbproxy.gsess.", group_id);
}

}  // namespace dbproxy::plugins::session_locks
