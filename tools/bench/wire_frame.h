#pragma once

// The TeamTalk frame (spec §1.1): a 16-byte big-endian header — length (header included),
// version, flag, service id, command id, seq, reserved — then a protobuf body.
// The bench has its own copy of this codec so it builds and runs without core/ and can be
// pointed at any compatible server.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dbproxy::bench {

inline constexpr size_t kFrameHeaderBytes = 16;
inline constexpr uint16_t kFrameVersion = 1;
// Replies longer than this are treated as a broken stream (ours answer in kilobytes).
inline constexpr uint32_t kMaxFrameBytes = 64 * 1024 * 1024;

struct FrameHeader {
  uint32_t length = 0;  // whole frame, header included
  uint16_t version = kFrameVersion;
  uint16_t flag = 0;
  uint16_t service_id = 0;
  uint16_t command_id = 0;
  uint16_t seq = 0;
  uint16_t reserved = 0;
};

// Appends one well-formed frame (version 1, flag 0, reserved 0) to *out.
void AppendFrame(uint16_t service_id, uint16_t command_id, uint16_t seq, std::string_view body,
                 std::string* out);

// Reads the header at the front of bytes. REQUIRES: bytes.size() >= kFrameHeaderBytes.
FrameHeader DecodeHeader(std::string_view bytes);

// Splits a byte stream into frames, whatever way the stream was cut into reads: a frame may
// arrive in pieces, several may arrive in one read.
//
//   FrameReader reader;
//   reader.Append(data, n);
//   FrameReader::Frame frame;
//   while (reader.Next(&frame) == FrameReader::kFrame) { ... }
//
// The body view in a returned frame stays valid until the next Append().
// Thread rule: one thread at a time.
class FrameReader {
 public:
  enum Status {
    kFrame,     // *frame holds the next whole frame
    kNeedMore,  // no whole frame buffered yet
    kBroken,    // a length below 16 or above kMaxFrameBytes; the stream cannot be resynchronised
  };
  struct Frame {
    FrameHeader header;
    std::string_view body;
  };

  void Append(const char* data, size_t size);
  [[nodiscard]] Status Next(Frame* frame);
  size_t buffered_bytes() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  size_t offset_ = 0;  // start of the first unconsumed byte in buffer_
  bool broken_ = false;
};

}  // namespace dbproxy::bench
