#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "dbproxy/sdk/plugin.h"
#include "plugins/session/session_store.h"

namespace dbproxy::plugins::session {

// Writes group messages through to every member's group session within one flush interval
// (TeamTalk's SyncCenter polled every 5 s, could miss messages, and ran one statement per
// member: W20, W21). Group messages only mark their group dirty (gid -> newest stored_at);
// a host timer calls Flush(), which per dirty group asks the group_member module for the
// members (plugins/common/membership.h) and lets SessionStore::SyncGroupMembers write them
// in a bounded number of statements. Ten messages to one group between two flushes cost one
// group sync.
//
// A group whose members cannot be read (group_member disabled or failing) or whose sync
// fails stays dirty and is retried on the next flushes, up to kMaxAttempts times; a group
// that does not exist is dropped. Dirty groups not yet flushed when the module is unloaded
// are lost (their next message marks them again).
//
// Thread: MarkDirty from any worker, concurrently; Flush from the host timer (never
// overlapping itself).
class GroupSessionFlusher {
 public:
  GroupSessionFlusher(const sdk::Host& host, SessionStore& store) : host_(host), store_(store) {}
  GroupSessionFlusher(const GroupSessionFlusher&) = delete;
  GroupSessionFlusher& operator=(const GroupSessionFlusher&) = delete;

  // The group had a message at stored_at (unix seconds).
  void MarkDirty(uint32_t group_id, uint32_t stored_at);

  // Syncs every group dirty at the time of the call.
  void Flush();

  static constexpr uint32_t kMaxAttempts = 40;

 private:
  struct Dirty {
    uint32_t updated = 0;   // newest stored_at seen
    uint32_t attempts = 0;  // failed syncs so far
  };
  // Puts a group back after a failed sync, merged with any newer mark.
  void Requeue(uint32_t group_id, Dirty d);

  const sdk::Host& host_;
  SessionStore& store_;
  std::mutex mu_;
  std::unordered_map<uint32_t, Dirty> dirty_;  // guarded by mu_
};

}  // namespace dbproxy::plugins::session
