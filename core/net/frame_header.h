#pragma once

// The 16-byte TeamTalk frame header, all fields big-endian on the wire:
// length(4, includes the header) version(2) flag(2) service_id(2) command_id(2) seq(2)
// reserved(2). Plain value type.

#include <cstddef>
#include <cstdint>

namespace dbproxy::net {

inline constexpr size_t kFrameHeaderBytes = 16;
inline constexpr uint16_t kFrameVersion = 1;

struct FrameHeader {
  uint32_t length = 0;
  uint16_t version = kFrameVersion;
  uint16_t flag = 0;
  uint16_t service_id = 0;
  uint16_t command_id = 0;
  uint16_t seq = 0;
  uint16_t reserved = 0;
};

}  // namespace dbproxy::net
