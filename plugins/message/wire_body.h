#pragma once

// Decoding requests and sending replies the way every handler of this module does: a body
// that does not parse is still answered, echoing whatever fields could be read (W35).
// Header-only; any worker thread.

#include <cstdint>
#include <string>
#include <string_view>

#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"

namespace dbproxy::plugins::message {

// Parses body into *message. Returns true if it parsed with every required field; false
// otherwise, and *message then holds the fields read before the parser gave up (maybe none).
template <typename Message>
bool ParseBody(std::string_view body, Message* message) {
  if (message->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return true;
  }
  message->Clear();
  // The result does not matter: whatever was read is echoed in the failure answer.
  (void)message->ParsePartialFromArray(body.data(), static_cast<int>(body.size()));
  return false;
}

// Serializes message (partial serialization: callers fill every required field, but a
// missing one must not turn an answer into silence) and sends it as the reply with
// service id SID_MSG. Returns the host's status (DBP_E_INVALID: larger than a frame may be).
template <typename Message>
sdk::Status ReplyMsg(sdk::Request& request, uint16_t cmd_id, const Message& message) {
  std::string bytes;
  message.SerializePartialToString(&bytes);
  return request.Reply(sid::kMsg, cmd_id, bytes);
}

}  // namespace dbproxy::plugins::message
