#include "tools/bench/wire_frame.h"

namespace dbproxy::bench {
namespace {

void PutU16(uint16_t value, std::string* out) {
  out->push_back(static_cast<char>(value >> 8));
  out->push_back(static_cast<char>(value & 0xff));
}

void PutU32(uint32_t value, std::string* out) {
  PutU16(static_cast<uint16_t>(value >> 16), out);
  PutU16(static_cast<uint16_t>(value & 0xffff), out);
}

uint16_t GetU16(std::string_view bytes, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(bytes[at]) << 8) |
                               static_cast<uint8_t>(bytes[at + 1]));
}

uint32_t GetU32(std::string_view bytes, size_t at) {
  return (static_cast<uint32_t>(GetU16(bytes, at)) << 16) | GetU16(bytes, at + 2);
}

}  // namespace

void AppendFrame(uint16_t service_id, uint16_t command_id, uint16_t seq, std::string_view body,
                 std::string* out) {
  out->reserve(out->size() + kFrameHeaderBytes + body.size());
  PutU32(static_cast<uint32_t>(kFrameHeaderBytes + body.size()), out);
  PutU16(kFrameVersion, out);
  PutU16(0, out);  // flag
  PutU16(service_id, out);
  PutU16(command_id, out);
  PutU16(seq, out);
  PutU16(0, out);  // reserved
  out->append(body);
}

FrameHeader DecodeHeader(std::string_view bytes) {
  FrameHeader header;
  header.length = GetU32(bytes, 0);
  header.version = GetU16(bytes, 4);
  header.flag = GetU16(bytes, 6);
  header.service_id = GetU16(bytes, 8);
  header.command_id = GetU16(bytes, 10);
  header.seq = GetU16(bytes, 12);
  header.reserved = GetU16(bytes, 14);
  return header;
}

void FrameReader::Append(const char* data, size_t size) {
  // Compact only here, so views handed out by Next() survive until the next Append().
  if (offset_ > 0) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(data, size);
}

FrameReader::Status FrameReader::Next(Frame* frame) {
  if (broken_) {
    return kBroken;
  }
  std::string_view rest(buffer_.data() + offset_, buffer_.size() - offset_);
  if (rest.size() < kFrameHeaderBytes) {
    return kNeedMore;
  }
  FrameHeader header = DecodeHeader(rest);
  if (header.length < kFrameHeaderBytes || header.length > kMaxFrameBytes) {
    broken_ = true;
    return kBroken;
  }
  if (rest.size() < header.length) {
    return kNeedMore;
  }
  frame->header = header;
  frame->body = rest.substr(kFrameHeaderBytes, header.length - kFrameHeaderBytes);
  offset_ += header.length;
  return kFrame;
}

}  // namespace dbproxy::bench
