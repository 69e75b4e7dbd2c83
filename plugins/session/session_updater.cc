#include "plugins/session/session_updater.h"

#include <cstdint>
#include <ctime>
#include <vector>

#include "plugins/common/events.h"

namespace dbproxy::plugins::session {

void SessionUpdater::OnMessageStored(std::string_view data) {
  std::optional<std::vector<events::MessageStored>> batch = events::DecodeMessagesStored(data);
  if (!batch) {
    host_.Warn("message.stored: payload of ", data.size(), " bytes not understood");
    host_.Count("event_errors");
    return;
  }
  const uint32_t now = static_cast<uint32_t>(std::time(nullptr));
  std::vector<SessionStore::Touch> singles;
  std::vector<SessionStore::Touch> groups;
  std::vector<const events::MessageStored*> single_records;
  std::vector<const events::MessageStored*> group_records;
  for (const events::MessageStored& e : *batch) {
    if (e.from_user_id == 0 || e.to_id == 0) {
      host_.Warn("message.stored: from=", e.from_user_id, " to=", e.to_id, " msg_id=", e.msg_id,
                 " ignored");
      host_.Count("event_errors");
      continue;
    }
    const uint32_t updated = e.stored_at != 0 ? e.stored_at : now;
    if (e.session_type == 1) {
      singles.push_back({e.from_user_id, e.to_id, updated});
      if (e.from_user_id != e.to_id) {
        singles.push_back({e.to_id, e.from_user_id, updated});
      }
      single_records.push_back(&e);
    } else if (e.session_type == 2) {
      flusher_.MarkDirty(e.to_id, updated);
      groups.push_back({e.from_user_id, e.to_id, updated});
      group_records.push_back(&e);
    } else {
      host_.Warn("message.stored: unknown session type ", e.session_type, " (msg_id=", e.msg_id,
                 ")");
      host_.Count("event_errors");
    }
  }
  SessionStore::TouchResult result = writer_.Write(singles, groups);
  Report(result.singles, single_records);
  Report(result.groups, group_records);
}

void SessionUpdater::Report(const sdk::Status& s,
                            const std::vector<const events::MessageStored*>& records) {
  if (s.ok()) {
    return;
  }
  for (const events::MessageStored* e : records) {
    host_.Warn("sessions not updated: type=", e->session_type, " from=", e->from_user_id,
               " to=", e->to_id, " msg_id=", e->msg_id, ": ", s.message());
    host_.Count("session_errors");
  }
}

}  // namespace dbproxy::plugins::session
