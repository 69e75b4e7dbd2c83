#include "plugins/unread/counter_updater.h"

#include "plugins/common/events.h"

namespace dbproxy::plugins::unread {

void CounterUpdater::OnMessageStored(std::string_view data) {
  std::optional<events::MessageStored> e = events::DecodeMessageStored(data);
  if (!e) {
    host_.Warn("message.stored: payload of ", data.size(), " bytes not understood");
    host_.Count("event_errors");
    return;
  }
  sdk::Status s;
  if (e->session_type == 1) {
    s = counters_.AddSingle(e->to_id, e->from_user_id);
  } else if (e->session_type == 2) {
    s = counters_.AddGroup(e->to_id, e->from_user_id);
  } else {
    host_.Warn("message.stored: unknown session type ", e->session_type);
    host_.Count("event_errors");
    return;
  }
  if (!s.ok()) {
    host_.Warn("unread counter not updated: type=", e->session_type, " from=", e->from_user_id,
               " to=", e->to_id, " msg_id=", e->msg_id, ": ", s.message());
    host_.Count("counter_errors");
  }
}

}  // namespace dbproxy::plugins::unread
