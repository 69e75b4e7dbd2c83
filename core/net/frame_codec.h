#pragma once

// Bytes <-> frames. Pure functions: no buffers of their own, any thread.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/net/frame_header.h"

namespace dbproxy::net {

enum class DecodeResult {
  kFrame,      // a whole frame is at the front of the input
  kNeedMore,   // not enough bytes yet
  kBadLength,  // length < 16 or > max_frame_bytes: the peer is broken; close it
};

// Looks at the front of input. On kFrame fills *header and *body (a view into input) and
// the frame occupies input[0, header->length). On kBadLength *header holds what was read.
DecodeResult DecodeFrame(std::string_view input, uint32_t max_frame_bytes, FrameHeader* header,
                         std::string_view* body);

// Writes the 16 header bytes for header into out.
void EncodeHeader(const FrameHeader& header, uint8_t out[kFrameHeaderBytes]);

// Appends a whole frame (version 1, flag 0, reserved 0) to out.
void AppendFrame(uint16_t service_id, uint16_t command_id, uint16_t seq, std::string_view body,
                 std::string* out);

}  // namespace dbproxy::net
