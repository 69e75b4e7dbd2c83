#pragma once

// The ordering key of a CID_MSG_DATA request: the host runs requests with the same non-zero
// key one at a time, in arrival order, so the messages of one conversation are stored in the
// order msg_server sent them. Pure functions; any thread (the host calls the key function on
// its loop thread, so it reads only three varint fields and allocates nothing).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dbproxy::plugins::message {

// The fields of an IMMsgData body the key depends on. Absent fields read as 0.
struct ConversationFields {
  uint32_t from_user_id = 0;   // field 1
  uint32_t to_session_id = 0;  // field 2
  uint32_t msg_type = 0;       // field 5
};

// Reads fields 1, 2 and 5 of a serialized IMMsgData without protobuf (last occurrence wins,
// as in protobuf). Returns false if the bytes are not a well-formed protobuf message.
bool ReadConversationFields(std::string_view body, ConversationFields* out);

// The key of one conversation: a 64-bit mix of ('S', min(from, to), max(from, to)) for
// single message types, ('G', group id) for group types; never 0. Returns 0 ("unordered")
// for an unreadable body or a msg_type that is not a MsgType.
uint64_t ConversationKey(std::string_view body);

// ConversationKey with the host's dbp_order_key_fn signature; user is ignored.
uint64_t ConversationOrderKey(const uint8_t* body, size_t len, void* user);

}  // namespace dbproxy::plugins::message
