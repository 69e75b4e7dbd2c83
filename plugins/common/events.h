#pragma once

// Events modules publish to each other (delivered synchronously on the publishing worker,
// within one generation). Payloads are trivially copyable structs sent as raw bytes; the
// receiver checks size and version before reading.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace dbproxy::plugins::events {

// Published by the message module after a message row is committed, with no pooled
// connection held. Subscribers: unread (counters), session (recent sessions).
inline constexpr const char* kMessageStored = "message.stored";

struct MessageStored {
  uint32_t version = 1;
  uint32_t session_type = 0;  // 1 single, 2 group
  uint32_t from_user_id = 0;
  uint32_t to_id = 0;  // peer user id (single) or group id (group)
  uint32_t msg_id = 0;
  uint32_t msg_type = 0;     // MsgType
  uint32_t create_time = 0;  // the client's time, as stored
  uint32_t relate_id = 0;    // single only
  uint32_t stored_at = 0;    // server unix time of the commit
};

inline std::string_view Encode(const MessageStored& e) {
  return std::string_view(reinterpret_cast<const char*>(&e), sizeof(e));
}

inline std::optional<MessageStored> DecodeMessageStored(std::string_view data) {
  MessageStored e;
  if (data.size() != sizeof(e)) {
    return std::nullopt;
  }
  std::memcpy(&e, data.data(), sizeof(e));
  if (e.version != 1) {
    return std::nullopt;
  }
  return e;
}

}  // namespace dbproxy::plugins::events
