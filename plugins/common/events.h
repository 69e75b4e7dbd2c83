#pragma once

// Events modules publish to each other (delivered synchronously on the publishing worker,
// within one generation). Payloads are trivially copyable structs sent as raw bytes; the
// receiver checks size and version before reading.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbproxy::plugins::events {

// Published by the message module after message rows are committed, with no pooled
// connection held. The payload is one or more MessageStored records back to back: the
// messages committed together in one transaction (one batch), in the order they were
// numbered, so subscribers can update their storage for all of them in one round trip.
// Subscribers: unread (counters), session (recent sessions).
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

// A batch payload: the records' bytes back to back.
inline std::string EncodeBatch(const std::vector<MessageStored>& batch) {
  return std::string(reinterpret_cast<const char*>(batch.data()),
                     batch.size() * sizeof(MessageStored));
}

// Every record of a payload; nullopt if the payload is empty, not a whole number of
// records, or any record has an unknown version (nothing is half-read).
inline std::optional<std::vector<MessageStored>> DecodeMessagesStored(std::string_view data) {
  if (data.empty() || data.size() % sizeof(MessageStored) != 0) {
    return std::nullopt;
  }
  std::vector<MessageStored> out(data.size() / sizeof(MessageStored));
  std::memcpy(out.data(), data.data(), data.size());
  for (const MessageStored& e : out) {
    if (e.version != 1) {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace dbproxy::plugins::events
