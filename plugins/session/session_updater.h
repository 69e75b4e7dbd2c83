#pragma once

#include <string_view>
#include <vector>

#include "dbproxy/sdk/plugin.h"
#include "plugins/common/events.h"
#include "plugins/session/group_session_flusher.h"
#include "plugins/session/session_store.h"

namespace dbproxy::plugins::session {

// Subscriber of "message.stored" (plugins/common/events.h), spec H10 and §6.4:
//   single: sender's and receiver's sessions of each other are shown with updated =
//           stored_at, created if missing (fixes W10, W11);
//   group:  the sender's own group session likewise, at once; the other members' sessions
//           through the GroupSessionFlusher within one flush interval.
// A payload is a batch of one or more records (the messages of one commit); the whole
// batch is written with SessionStore::TouchSessions (a few statements per batch, not per
// message), leaving the same rows as handling the records one by one.
// A payload that is not a whole number of valid records is rejected as a whole; a record
// with a zero id or an unknown session type is skipped alone (both: event_errors).
// Storage failures are logged and counted per record of the failed type (session_errors):
// the messages themselves are already stored.
// Thread: any worker, concurrently (runs on the publisher's thread).
class SessionUpdater {
 public:
  SessionUpdater(const sdk::Host& host, SessionStore& store, GroupSessionFlusher& flusher)
      : host_(host), store_(store), flusher_(flusher) {}

  void OnMessageStored(std::string_view data);

 private:
  // Logs and counts every record of a type whose sessions were not written.
  void Report(const sdk::Status& s, const std::vector<const events::MessageStored*>& records);

  const sdk::Host& host_;
  SessionStore& store_;
  GroupSessionFlusher& flusher_;
};

}  // namespace dbproxy::plugins::session
