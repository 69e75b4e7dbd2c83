#include "plugins/unread/counter_updater.h"

#include <string_view>
#include <vector>

#include "plugins/common/events.h"

namespace dbproxy::plugins::unread {

void CounterUpdater::OnMessageStored(std::string_view data) {
  std::optional<std::vector<events::MessageStored>> batch = events::DecodeMessagesStored(data);
  if (!batch) {
    host_.Warn("message.stored: payload of ", data.size(), " bytes not understood");
    host_.Count("event_errors");
    return;
  }
  // The records to count, in batch order; records of an unknown type are skipped alone.
  std::vector<const events::MessageStored*> counted;
  std::vector<UnreadCounters::Increment> increments;
  counted.reserve(batch->size());
  increments.reserve(batch->size());
  for (const events::MessageStored& e : *batch) {
    if (e.session_type != 1 && e.session_type != 2) {
      host_.Warn("message.stored: unknown session type ", e.session_type, " (msg_id=", e.msg_id,
                 ")");
      host_.Count("event_errors");
      continue;
    }
    counted.push_back(&e);
    increments.push_back({e.session_type, e.from_user_id, e.to_id, e.msg_id});
  }
  bool round_trip_failed = false;
  std::vector<sdk::Status> results = counters_.Add(increments, &round_trip_failed);
  if (round_trip_failed) {
    // Redis is unreachable: nothing (or an unknown part) of the batch was counted. The rows
    // are committed, so MySQL just answered: keep the increments there for the replay.
    sdk::Status queued = repair_.Enqueue(increments);
    if (queued.ok()) {
      host_.Warn("Redis unreachable (", results.front().message(), "); ", increments.size(),
                 " unread increments queued for repair");
      host_.Count("counter_repairs_queued", static_cast<int64_t>(increments.size()));
      return;
    }
    host_.Warn("unread repair queue not written: ", queued.message());
  }
  // A command the server refused because it is no longer (or not yet) the master did not
  // run: it is as safe to replay as a batch that never reached Redis (a Sentinel failover;
  // the pool re-resolves the master, and retries itself when the whole batch was refused).
  std::vector<UnreadCounters::Increment> refused;
  std::vector<bool> queued(results.size(), false);
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string_view why = results[i].ok() ? std::string_view() : results[i].message();
    for (std::string_view code : {"READONLY", "MASTERDOWN", "LOADING"}) {
      if (why.find(code) != std::string_view::npos) {
        refused.push_back(increments[i]);
        queued[i] = true;
        break;
      }
    }
  }
  if (!refused.empty()) {
    if (sdk::Status q = repair_.Enqueue(refused); q.ok()) {
      host_.Warn("Redis refused ", refused.size(),
                 " unread increments (not the master: a failover); queued for repair");
      host_.Count("counter_repairs_queued", static_cast<int64_t>(refused.size()));
    } else {
      host_.Warn("unread repair queue not written: ", q.message());
      queued.assign(results.size(), false);
    }
  }
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok() && !queued[i]) {
      const events::MessageStored& e = *counted[i];
      host_.Warn("unread counter not updated: type=", e.session_type, " from=", e.from_user_id,
                 " to=", e.to_id, " msg_id=", e.msg_id, ": ", results[i].message());
      host_.Count("counter_errors");
    }
  }
}

}  // namespace dbproxy::plugins::unread
