#include "core/net/frame_codec.h"

namespace dbproxy::net {
namespace {

uint16_t Read16(const unsigned char* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

uint32_t Read32(const unsigned char* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

void Write16(uint16_t v, uint8_t* p) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void Write32(uint32_t v, uint8_t* p) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace

DecodeResult DecodeFrame(std::string_view input, uint32_t max_frame_bytes, FrameHeader* header,
                         std::string_view* body) {
  if (input.size() < kFrameHeaderBytes) {
    return DecodeResult::kNeedMore;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(input.data());
  header->length = Read32(p);
  header->version = Read16(p + 4);
  header->flag = Read16(p + 6);
  header->service_id = Read16(p + 8);
  header->command_id = Read16(p + 10);
  header->seq = Read16(p + 12);
  header->reserved = Read16(p + 14);
  // The length is checked before waiting for the body so a peer announcing 4 GiB is cut off
  // at once instead of being buffered (the original's W23/W24).
  if (header->length < kFrameHeaderBytes || header->length > max_frame_bytes) {
    return DecodeResult::kBadLength;
  }
  if (input.size() < header->length) {
    return DecodeResult::kNeedMore;
  }
  *body = input.substr(kFrameHeaderBytes, header->length - kFrameHeaderBytes);
  return DecodeResult::kFrame;
}

void EncodeHeader(const FrameHeader& header, uint8_t out[kFrameHeaderBytes]) {
  Write32(header.length, out);
  Write16(header.version, out + 4);
  Write16(header.flag, out + 6);
  Write16(header.service_id, out + 8);
  Write16(header.command_id, out + 10);
  Write16(header.seq, out + 12);
  Write16(header.reserved, out + 14);
}

void AppendFrame(uint16_t service_id, uint16_t command_id, uint16_t seq, std::string_view body,
                 std::string* out) {
  FrameHeader h;
  h.length = static_cast<uint32_t>(kFrameHeaderBytes + body.size());
  h.service_id = service_id;
  h.command_id = command_id;
  h.seq = seq;
  uint8_t raw[kFrameHeaderBytes];
  EncodeHeader(h, raw);
  out->append(reinterpret_cast<const char*>(raw), kFrameHeaderBytes);
  out->append(body);
}

}  // namespace dbproxy::net
