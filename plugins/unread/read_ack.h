#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/unread/unread_counters.h"

namespace dbproxy::plugins::unread {

// CID_MSG_READ_ACK 0x0303 (no response), spec H13: the user has read the whole
// conversation (msg_id is ignored, as in TeamTalk). Single: the counter for the peer is
// deleted. Group: the user's marker becomes the group count.
// A body that does not parse, or an unknown session type, is logged and counted.
// Thread: any worker, concurrently.
class ReadAck {
 public:
  ReadAck(const sdk::Host& host, const UnreadCounters& counters)
      : host_(host), counters_(counters) {}

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
  const UnreadCounters& counters_;
};

}  // namespace dbproxy::plugins::unread
