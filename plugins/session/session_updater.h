#pragma once

#include <string_view>
#include <vector>

#include "dbproxy/sdk/plugin.h"
#include "plugins/common/events.h"
#include "plugins/session/group_session_flusher.h"
#include "plugins/session/session_store.h"
#include "plugins/session/session_write_behind.h"

namespace dbproxy::plugins::session {

// Subscriber of "message.stored" (plugins/common/events.h), spec H10 and §6.4:
//   single: sender's and receiver's sessions of each other are shown with updated =
//           stored_at, created if missing (fixes W10, W11);
//   group:  the sender's own group session likewise, at once; the other members' sessions
//           through the GroupSessionFlusher within one flush interval.
// A payload is a batch of one or more records (the messages of one commit); the whole
// batch goes to SessionWriteBehind::Write, which writes it with SessionStore::TouchSessions
// (a few statements per batch, not per message) at once or coalesced with the batches of
// one write-behind interval, leaving the same rows as handling the records one by one.
// A payload that is not a whole number of valid records is rejected as a whole; a record
// with a zero id or an unknown session type is skipped alone (both: event_errors).
// Storage failures of a write-through are logged and counted per record of the failed type
// (session_errors): the messages themselves are already stored. Write-behind failures are
// retried by the writer (session_write_behind.h).
// Thread: any worker, concurrently (runs on the publisher's thread).
class SessionUpdater {
 public:
  SessionUpdater(const sdk::Host& host, SessionWriteBehind& writer, GroupSessionFlusher& flusher)
      : host_(host), writer_(writer), flusher_(flusher) {}

  void OnMessageStored(std::string_view data);

 private:
  // Logs and counts every record of a type whose sessions were not written.
  void Report(const sdk::Status& s, const std::vector<const events::MessageStored*>& records);

  const sdk::Host& host_;
  SessionWriteBehind& writer_;
  GroupSessionFlusher& flusher_;
};

}  // namespace dbproxy::plugins::session
