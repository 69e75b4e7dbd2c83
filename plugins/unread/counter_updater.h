#pragma once

#include <string_view>

#include "dbproxy/sdk/plugin.h"
#include "plugins/unread/repair_queue.h"
#include "plugins/unread/unread_counters.h"

namespace dbproxy::plugins::unread {

// Subscriber of "message.stored" (plugins/common/events.h): counts every committed message
// as unread for its receivers. Single: the receiver's counter for the sender grows by one.
// Group: the group count grows by one and the sender's marker follows it. A payload is a
// batch of one or more records; the whole batch is counted in one pipelined Redis round
// trip, in record order, with the same result as counting the records one by one.
// A payload that is not a whole number of valid records is rejected as a whole (counted in
// event_errors); a record of an unknown session type is skipped alone (event_errors). When
// the Redis round trip fails (Redis down), the batch's increments go to the repair queue
// (repair_queue.h) and are counted once Redis answers; so do single increments refused with
// READONLY / MASTERDOWN / LOADING (not run: the master is moving); only if that queue cannot be
// written either, or a single command fails (a key of the wrong type), is a record logged and
// counted as lost (counter_errors). The messages themselves are already stored.
// Thread: any worker, concurrently.
class CounterUpdater {
 public:
  CounterUpdater(const sdk::Host& host, const UnreadCounters& counters, RepairQueue& repair)
      : host_(host), counters_(counters), repair_(repair) {}

  void OnMessageStored(std::string_view data);

 private:
  const sdk::Host& host_;
  const UnreadCounters& counters_;
  RepairQueue& repair_;
};

}  // namespace dbproxy::plugins::unread
