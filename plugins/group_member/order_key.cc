#include "plugins/group_member/order_key.h"

namespace dbproxy::plugins::group_member {
namespace {

constexpr uint64_t kGroupIdField = 3;  // IMGroupChangeMemberReq.group_id

// Reads a base-128 varint at body[*at]; false if it runs past the end or over 10 bytes.
bool ReadVarint(const uint8_t* body, size_t len, size_t* at, uint64_t* out) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64 && *at < len; shift += 7) {
    uint8_t byte = body[(*at)++];
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *out = value;
      return true;
    }
  }
  return false;
}

// splitmix64's finaliser: spreads ('M', gid) over the key space, so these keys rarely meet
// other modules' keys (a collision only serialises two unrelated requests).
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t ChangeMemberOrderKey(const uint8_t* body, size_t len, void*) {
  size_t at = 0;
  while (at < len) {
    uint64_t tag = 0;
    uint64_t value = 0;
    if (!ReadVarint(body, len, &at, &tag)) {
      return 0;
    }
    switch (tag & 7) {
      case 0:  // varint
        if (!ReadVarint(body, len, &at, &value)) {
          return 0;
        }
        if ((tag >> 3) == kGroupIdField) {
          uint64_t key = Mix((uint64_t{'M'} << 32) | static_cast<uint32_t>(value));
          return key != 0 ? key : 1;
        }
        break;
      case 1:  // fixed64
        if (len - at < 8) {
          return 0;
        }
        at += 8;
        break;
      case 2:  // length-delimited
        if (!ReadVarint(body, len, &at, &value) || value > len - at) {
          return 0;
        }
        at += value;
        break;
      case 5:  // fixed32
        if (len - at < 4) {
          return 0;
        }
        at += 4;
        break;
      default:  // groups (3, 4) never appear in these messages
        return 0;
    }
  }
  return 0;
}

}  // namespace dbproxy::plugins::group_member
