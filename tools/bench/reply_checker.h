#pragma once

// Reads a reply and judges it against the request it answers: right command, parses as the
// reply message, echoes the request's ids and attach data, and reports success the way the
// command does (result_code 0, msg_id != 0).

#include <cstdint>
#include <string_view>

#include "tools/bench/bench_request.h"

namespace dbproxy::bench {

struct Verdict {
  Failure failure = Failure::kNone;
  // Size of the reply's list (unread conversations, messages, sessions); 0 for other kinds.
  // Reported as an average so a run shows whether it measured what it meant to (an
  // "unread-many" run with 0 items measured empty users).
  uint32_t items = 0;
};

// Judges one reply. Thread rule: any thread.
Verdict CheckReply(const RequestParams& request, uint16_t reply_command_id, std::string_view body);

}  // namespace dbproxy::bench
