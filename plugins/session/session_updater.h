#pragma once

#include <string_view>

#include "dbproxy/sdk/plugin.h"
#include "plugins/session/group_session_flusher.h"
#include "plugins/session/session_store.h"

namespace dbproxy::plugins::session {

// Subscriber of "message.stored" (plugins/common/events.h), spec H10 and §6.4:
//   single: sender's and receiver's sessions of each other are shown with updated =
//           stored_at, created if missing (fixes W10, W11);
//   group:  the sender's own group session likewise, at once; the other members' sessions
//           through the GroupSessionFlusher within one flush interval.
// Failures are logged and counted: the message itself is already stored.
// Thread: any worker, concurrently (runs on the publisher's thread).
class SessionUpdater {
 public:
  SessionUpdater(const sdk::Host& host, SessionStore& store, GroupSessionFlusher& flusher)
      : host_(host), store_(store), flusher_(flusher) {}

  void OnMessageStored(std::string_view data);

 private:
  const sdk::Host& host_;
  SessionStore& store_;
  GroupSessionFlusher& flusher_;
};

}  // namespace dbproxy::plugins::session
