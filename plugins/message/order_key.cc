#include "plugins/message/order_key.h"

#include <algorithm>

namespace dbproxy::plugins::message {
namespace {

constexpr uint32_t kSingleText = 0x01;
constexpr uint32_t kSingleAudio = 0x02;
constexpr uint32_t kGroupText = 0x11;
constexpr uint32_t kGroupAudio = 0x12;

// Protobuf wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

bool ReadVarint(std::string_view in, size_t* at, uint64_t* out) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*at >= in.size()) {
      return false;
    }
    const auto byte = static_cast<uint8_t>(in[(*at)++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *out = value;
      return true;
    }
  }
  return false;  // more than 10 bytes: not a varint
}

bool Skip(std::string_view in, size_t* at, uint64_t bytes) {
  if (bytes > in.size() - *at) {
    return false;
  }
  *at += static_cast<size_t>(bytes);
  return true;
}

// splitmix64's finaliser: cheap, and every input bit moves every output bit.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t NonZero(uint64_t key) { return key == 0 ? 1 : key; }

}  // namespace

bool ReadConversationFields(std::string_view body, ConversationFields* out) {
  *out = ConversationFields{};
  size_t at = 0;
  while (at < body.size()) {
    uint64_t tag = 0;
    if (!ReadVarint(body, &at, &tag)) {
      return false;
    }
    const uint64_t field = tag >> 3;
    const auto wire_type = static_cast<uint32_t>(tag & 7);
    if (field == 0) {
      return false;  // field number 0 is invalid
    }
    uint64_t value = 0;
    switch (wire_type) {
      case kVarint:
        if (!ReadVarint(body, &at, &value)) {
          return false;
        }
        // uint32 and enum fields keep the low 32 bits of the varint, as protobuf does.
        if (field == 1) {
          out->from_user_id = static_cast<uint32_t>(value);
        } else if (field == 2) {
          out->to_session_id = static_cast<uint32_t>(value);
        } else if (field == 5) {
          out->msg_type = static_cast<uint32_t>(value);
        }
        break;
      case kFixed64:
        if (!Skip(body, &at, 8)) {
          return false;
        }
        break;
      case kLengthDelimited:
        if (!ReadVarint(body, &at, &value) || !Skip(body, &at, value)) {
          return false;
        }
        break;
      case kFixed32:
        if (!Skip(body, &at, 4)) {
          return false;
        }
        break;
      default:  // groups (3, 4) never appear in IMMsgData; 6 and 7 are invalid
        return false;
    }
  }
  return true;
}

uint64_t ConversationKey(std::string_view body) {
  ConversationFields fields;
  if (!ReadConversationFields(body, &fields)) {
    return 0;
  }
  switch (fields.msg_type) {
    case kSingleText:
    case kSingleAudio: {
      const uint64_t small = std::min(fields.from_user_id, fields.to_session_id);
      const uint64_t big = std::max(fields.from_user_id, fields.to_session_id);
      return NonZero(Mix(Mix('S') ^ ((small << 32) | big)));
    }
    case kGroupText:
    case kGroupAudio:
      return NonZero(Mix(Mix('G') ^ fields.to_session_id));
    default:
      return 0;
  }
}

uint64_t ConversationOrderKey(const uint8_t* body, size_t len, void* /*user*/) {
  if (body == nullptr) {
    return 0;
  }
  return ConversationKey(std::string_view(reinterpret_cast<const char*>(body), len));
}

}  // namespace dbproxy::plugins::message
