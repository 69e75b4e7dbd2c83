#pragma once

#include <string_view>

#include "dbproxy/sdk/plugin.h"
#include "plugins/unread/unread_counters.h"

namespace dbproxy::plugins::unread {

// Subscriber of "message.stored" (plugins/common/events.h): counts every committed message
// as unread for its receivers. Single: the receiver's counter for the sender grows by one.
// Group: the group count grows by one and the sender's marker follows it.
// A Redis failure is logged and counted; the message itself is already stored.
// Thread: any worker, concurrently.
class CounterUpdater {
 public:
  CounterUpdater(const sdk::Host& host, const UnreadCounters& counters)
      : host_(host), counters_(counters) {}

  void OnMessageStored(std::string_view data);

 private:
  const sdk::Host& host_;
  const UnreadCounters& counters_;
};

}  // namespace dbproxy::plugins::unread
