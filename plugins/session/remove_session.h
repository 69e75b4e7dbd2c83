#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/session/session_store.h"
#include "plugins/session/session_write_behind.h"

namespace dbproxy::plugins::session {

// CID_BUDDY_LIST_REMOVE_SESSION_REQ 0x0206 -> CID_BUDDY_LIST_REMOVE_SESSION_RES 0x0207
// (SID_BUDDY_LIST), spec H05. Marks the user's shown session (every duplicate row) removed
// with updated = now; result_code 0 if a shown row was removed, else 1. After a removal the
// session's unread counters are cleared (unread_reset.h). Messages are not deleted.
// A body that does not parse (an unknown session_type included: TeamTalk dropped those
// silently) answers result 1 with user_id, session_id and session_type as far as readable
// (session_type 1 when unreadable). attach_data is echoed. MySQL failure answers 1.
// Thread: any worker, concurrently.
class RemoveSession {
 public:
  // writer flushes the user's pending sessions before each removal, so no pending touch of a
  // message stored before the removal can show the session again after it.
  RemoveSession(const sdk::Host& host, SessionStore& store, SessionWriteBehind& writer)
      : host_(host), store_(store), writer_(writer) {}

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
  SessionStore& store_;
  SessionWriteBehind& writer_;
};

}  // namespace dbproxy::plugins::session
