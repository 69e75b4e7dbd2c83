#include "plugins/session/session_updater.h"

#include <cstdint>
#include <ctime>

#include "plugins/common/events.h"

namespace dbproxy::plugins::session {

void SessionUpdater::OnMessageStored(std::string_view data) {
  std::optional<events::MessageStored> e = events::DecodeMessageStored(data);
  if (!e) {
    host_.Warn("message.stored: payload of ", data.size(), " bytes not understood");
    host_.Count("event_errors");
    return;
  }
  if (e->from_user_id == 0 || e->to_id == 0) {
    host_.Warn("message.stored: from=", e->from_user_id, " to=", e->to_id, " ignored");
    host_.Count("event_errors");
    return;
  }
  const uint32_t updated =
      e->stored_at != 0 ? e->stored_at : static_cast<uint32_t>(std::time(nullptr));
  sdk::Status s;
  if (e->session_type == 1) {
    s = store_.TouchPair(e->from_user_id, e->to_id, updated);
  } else if (e->session_type == 2) {
    flusher_.MarkDirty(e->to_id, updated);
    s = store_.TouchOwnGroupSession(e->from_user_id, e->to_id, updated);
  } else {
    host_.Warn("message.stored: unknown session type ", e->session_type);
    host_.Count("event_errors");
    return;
  }
  if (!s.ok()) {
    host_.Warn("sessions not updated: type=", e->session_type, " from=", e->from_user_id,
               " to=", e->to_id, " msg_id=", e->msg_id, ": ", s.message());
    host_.Count("session_errors");
  }
}

}  // namespace dbproxy::plugins::session
