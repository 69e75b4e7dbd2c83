// libFuzzer target: the frame codec on an arbitrary byte stream delivered in arbitrary pieces.
// The first byte picks the piece sizes, the rest is the stream. Each piece is appended to a
// buffer the way the connection reassembles reads, and every whole frame is taken off the
// front. Checks the codec's promises: a kFrame lies inside the input and its body is the
// bytes after the header, kBadLength only for length < 16 or > max, and re-encoding a
// decoded header gives the same 16 bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "core/net/frame_codec.h"

namespace {

constexpr uint32_t kMaxFrameBytes = 4096;

void Check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using dbproxy::net::DecodeFrame;
  using dbproxy::net::DecodeResult;
  using dbproxy::net::FrameHeader;
  if (size == 0) {
    return 0;
  }
  const uint8_t split_seed = data[0];
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string buffer;
  size_t at = 0;
  size_t piece_index = 0;
  bool closed = false;
  while (at < stream.size() && !closed) {
    // Piece sizes 1..split_seed+1, varying per piece so splits land inside headers too.
    const size_t piece = 1 + (split_seed + piece_index * 7) % (static_cast<size_t>(split_seed) + 1);
    ++piece_index;
    buffer.append(stream.substr(at, piece));
    at += piece;
    for (;;) {
      FrameHeader header;
      std::string_view body;
      const DecodeResult r = DecodeFrame(buffer, kMaxFrameBytes, &header, &body);
      if (r == DecodeResult::kNeedMore) {
        Check(buffer.size() < kMaxFrameBytes);
        break;
      }
      if (r == DecodeResult::kBadLength) {
        Check(header.length < dbproxy::net::kFrameHeaderBytes || header.length > kMaxFrameBytes);
        closed = true;  // the connection closes the peer
        break;
      }
      Check(header.length >= dbproxy::net::kFrameHeaderBytes);
      Check(header.length <= buffer.size());
      Check(body.data() == buffer.data() + dbproxy::net::kFrameHeaderBytes);
      Check(body.size() == header.length - dbproxy::net::kFrameHeaderBytes);
      uint8_t again[dbproxy::net::kFrameHeaderBytes];
      dbproxy::net::EncodeHeader(header, again);
      Check(std::memcmp(again, buffer.data(), sizeof(again)) == 0);
      std::string rebuilt;
      dbproxy::net::AppendFrame(header.service_id, header.command_id, header.seq, body, &rebuilt);
      Check(rebuilt.size() == header.length);
      buffer.erase(0, header.length);
    }
  }
  return 0;
}
