// The frame codec (core/net/frame_codec.h) against a reference decoder written here from
// spec §1.1: 100k random byte streams (valid frames, lying lengths, garbage) are fed to it
// split at random points, the way TCP delivers them and net::Connection consumes them.
// Every call sees an input copied into a buffer of exactly its size, so the AddressSanitizer
// build catches any read past the end. The codec must produce the same frames and stop at
// the same place with the same verdict as the reference.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "core/net/frame_codec.h"
#include "core/net/frame_header.h"

namespace dbproxy::net {
namespace {

constexpr int kStreams = 100000;
constexpr uint32_t kSeed = 0xf7a3e5u;

struct RefFrame {
  uint32_t length = 0;
  uint16_t version = 0, flag = 0, service_id = 0, command_id = 0, seq = 0, reserved = 0;
  std::string body;

  bool operator==(const RefFrame&) const = default;
};

// How a stream ends: every frame taken and some bytes left waiting for more, or a bad
// length (the connection is closed there).
struct RefResult {
  std::vector<RefFrame> frames;
  bool bad_length = false;
  RefFrame bad_header;  // the header read at the bad length (body empty)
  size_t leftover = 0;  // bytes not consumed
};

uint32_t Be32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<uint8_t>(s[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(s[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[at + 2])} << 8) |
         uint32_t{static_cast<uint8_t>(s[at + 3])};
}

uint16_t Be16(const std::string& s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) |
                               static_cast<uint8_t>(s[at + 1]));
}

RefFrame RefHeader(const std::string& s, size_t at) {
  RefFrame h;
  h.length = Be32(s, at);
  h.version = Be16(s, at + 4);
  h.flag = Be16(s, at + 6);
  h.service_id = Be16(s, at + 8);
  h.command_id = Be16(s, at + 10);
  h.seq = Be16(s, at + 12);
  h.reserved = Be16(s, at + 14);
  return h;
}

// The reference: the whole stream at once, straight from the spec.
RefResult ReferenceDecode(const std::string& stream, uint32_t max_frame_bytes) {
  RefResult r;
  size_t pos = 0;
  while (stream.size() - pos >= 16) {
    RefFrame h = RefHeader(stream, pos);
    if (h.length < 16 || h.length > max_frame_bytes) {
      r.bad_length = true;
      r.bad_header = h;
      break;
    }
    if (stream.size() - pos < h.length) {
      break;
    }
    h.body = stream.substr(pos + 16, h.length - 16);
    r.frames.push_back(std::move(h));
    pos += r.frames.back().length;
  }
  r.leftover = stream.size() - pos;
  return r;
}

std::string RefEncode(const RefFrame& f) {
  std::string out;
  auto put32 = [&](uint32_t v) {
    for (int shift : {24, 16, 8, 0}) {
      out += static_cast<char>((v >> shift) & 0xff);
    }
  };
  auto put16 = [&](uint16_t v) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xff);
  };
  put32(f.length);
  put16(f.version);
  put16(f.flag);
  put16(f.service_id);
  put16(f.command_id);
  put16(f.seq);
  put16(f.reserved);
  return out + f.body;
}

// The codec as net::Connection drives it: append each chunk, take whole frames from the
// front, stop for good at a bad length. Each DecodeFrame() call gets an exact-size copy.
// Adds a failure (and returns nullopt) if the codec breaks its own contract.
std::optional<RefResult> CodecDecode(const std::string& stream, const std::vector<size_t>& cuts,
                                     uint32_t max_frame_bytes, const std::string& context) {
  RefResult r;
  std::string buffer;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(stream.size());
  for (size_t end : ends) {
    buffer.append(stream, from, end - from);
    from = end;
    while (true) {
      std::unique_ptr<char[]> exact(new char[buffer.size() == 0 ? 1 : buffer.size()]);
      std::memcpy(exact.get(), buffer.data(), buffer.size());
      std::string_view input(exact.get(), buffer.size());
      FrameHeader header;
      std::string_view body;
      DecodeResult d = DecodeFrame(input, max_frame_bytes, &header, &body);
      if (d == DecodeResult::kNeedMore) {
        bool ok = input.size() < kFrameHeaderBytes ||
                  (Be32(buffer, 0) >= 16 && Be32(buffer, 0) <= max_frame_bytes &&
                   input.size() < Be32(buffer, 0));
        if (!ok) {
          ADD_FAILURE() << context << ": kNeedMore with " << input.size()
                        << " bytes buffered and length field " << Be32(buffer, 0);
          return std::nullopt;
        }
        break;
      }
      if (d == DecodeResult::kBadLength) {
        r.bad_length = true;
        r.bad_header =
            RefFrame{header.length,     header.version, header.flag,     header.service_id,
                     header.command_id, header.seq,     header.reserved, ""};
        r.leftover = stream.size() - (from - buffer.size());
        return r;
      }
      // kFrame: the body must be a view into this input, right after the header.
      if (header.length < kFrameHeaderBytes || header.length > input.size() ||
          body.data() != input.data() + kFrameHeaderBytes ||
          body.size() != header.length - kFrameHeaderBytes) {
        ADD_FAILURE() << context << ": kFrame with length " << header.length << ", " << input.size()
                      << " bytes buffered, body at offset " << (body.data() - input.data())
                      << " size " << body.size();
        return std::nullopt;
      }
      r.frames.push_back(RefFrame{header.length, header.version, header.flag, header.service_id,
                                  header.command_id, header.seq, header.reserved,
                                  std::string(body)});
      buffer.erase(0, header.length);
    }
  }
  r.leftover = buffer.size();
  return r;
}

std::string RandomBytes(std::mt19937* rng, size_t n) {
  std::string out(n, '\0');
  for (char& c : out) {
    c = static_cast<char>((*rng)() & 0xff);
  }
  return out;
}

// A stream of frames, some with lying lengths, some garbage between them.
std::string RandomStream(std::mt19937* rng, uint32_t max_frame_bytes) {
  std::string stream;
  int parts = static_cast<int>((*rng)() % 9);
  for (int i = 0; i < parts; ++i) {
    uint32_t pick = (*rng)() % 100;
    if (pick < 3) {
      stream += RandomBytes(rng, 1 + (*rng)() % 40);  // garbage
      continue;
    }
    RefFrame f;
    size_t body_size = (*rng)() % 4 == 0 ? (*rng)() % 2000 : (*rng)() % 64;
    f.body = RandomBytes(rng, body_size);
    f.length = static_cast<uint32_t>(16 + body_size);
    f.version = static_cast<uint16_t>((*rng)() % 3 == 0 ? (*rng)() : 1);
    f.flag = static_cast<uint16_t>((*rng)() % 3 == 0 ? (*rng)() : 0);
    f.service_id = static_cast<uint16_t>((*rng)());
    f.command_id = static_cast<uint16_t>((*rng)());
    f.seq = static_cast<uint16_t>((*rng)());
    f.reserved = static_cast<uint16_t>((*rng)() % 3 == 0 ? (*rng)() : 0);
    if (pick < 8) {
      const uint32_t lies[] = {0,
                               1,
                               15,
                               16,
                               max_frame_bytes,
                               max_frame_bytes + 1u,  // wraps to 0 for 0xffffffff: also a lie
                               0xffffffffu,
                               static_cast<uint32_t>((*rng)()),
                               static_cast<uint32_t>(f.length + 1 + (*rng)() % 100)};
      f.length = lies[(*rng)() % (sizeof lies / sizeof lies[0])];
    }
    stream += RefEncode(f);
  }
  if ((*rng)() % 5 == 0 && !stream.empty()) {
    stream.resize((*rng)() % stream.size());  // the peer stopped mid-frame
  }
  return stream;
}

std::vector<size_t> RandomCuts(std::mt19937* rng, size_t size) {
  std::vector<size_t> cuts;
  if (size == 0) {
    return cuts;
  }
  if ((*rng)() % 10 == 0) {
    for (size_t i = 1; i < size && i < 200; ++i) {
      cuts.push_back(i);  // byte by byte (first 200 bytes)
    }
    return cuts;
  }
  size_t count = (*rng)() % 8;
  for (size_t i = 0; i < count; ++i) {
    cuts.push_back((*rng)() % size);
  }
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

std::string Describe(const RefResult& r) {
  std::ostringstream out;
  out << r.frames.size() << " frames, " << (r.bad_length ? "bad length " : "need more, ")
      << (r.bad_length ? std::to_string(r.bad_header.length) : "") << " leftover " << r.leftover;
  return out.str();
}

TEST(FrameFuzz, CodecAgreesWithReferenceOnRandomStreamsSplitAnywhere) {
  std::mt19937 rng(kSeed);
  const uint32_t maxima[] = {16, 17, 64, 300, 2016, 1u << 20, 0xffffffffu};
  int disagreements = 0;
  long frames_seen = 0;
  long bad_lengths = 0;
  for (int i = 0; i < kStreams && disagreements < 5; ++i) {
    uint32_t max_frame_bytes = maxima[rng() % (sizeof maxima / sizeof maxima[0])];
    std::string stream = RandomStream(&rng, max_frame_bytes);
    std::vector<size_t> cuts = RandomCuts(&rng, stream.size());
    std::string context = "stream #" + std::to_string(i) + " (" + std::to_string(stream.size()) +
                          " bytes, max_frame_bytes " + std::to_string(max_frame_bytes) + ")";
    RefResult expected = ReferenceDecode(stream, max_frame_bytes);
    std::optional<RefResult> got = CodecDecode(stream, cuts, max_frame_bytes, context);
    if (!got) {
      ++disagreements;
      continue;
    }
    frames_seen += static_cast<long>(got->frames.size());
    bad_lengths += got->bad_length ? 1 : 0;
    bool same = got->frames == expected.frames && got->bad_length == expected.bad_length &&
                got->leftover == expected.leftover &&
                (!expected.bad_length || got->bad_header == expected.bad_header);
    if (!same) {
      ++disagreements;
      ADD_FAILURE() << context << ": codec gave " << Describe(*got) << ", reference "
                    << Describe(expected);
    }
  }
  EXPECT_EQ(disagreements, 0);
  // The generator must really exercise both outcomes.
  EXPECT_GT(frames_seen, kStreams);
  EXPECT_GT(bad_lengths, kStreams / 20);
  std::printf("[ fuzz ] %d streams, %ld frames, %ld bad lengths\n", kStreams, frames_seen,
              bad_lengths);
}

TEST(FrameFuzz, EncoderAgreesWithReference) {
  std::mt19937 rng(kSeed + 1);
  for (int i = 0; i < 20000; ++i) {
    RefFrame f;
    f.body = RandomBytes(&rng, rng() % 300);
    f.length = static_cast<uint32_t>(16 + f.body.size());
    f.version = 1;
    f.service_id = static_cast<uint16_t>(rng());
    f.command_id = static_cast<uint16_t>(rng());
    f.seq = static_cast<uint16_t>(rng());
    std::string out = "prefix";
    AppendFrame(f.service_id, f.command_id, f.seq, f.body, &out);
    ASSERT_EQ(out, "prefix" + RefEncode(f)) << "frame #" << i;

    FrameHeader h{static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()),
                  static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()),
                  static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()),
                  static_cast<uint16_t>(rng())};
    uint8_t raw[kFrameHeaderBytes];
    EncodeHeader(h, raw);
    RefFrame r{h.length, h.version, h.flag, h.service_id, h.command_id, h.seq, h.reserved, ""};
    ASSERT_EQ(std::string(reinterpret_cast<char*>(raw), kFrameHeaderBytes), RefEncode(r))
        << "header #" << i;
  }
}

}  // namespace
}  // namespace dbproxy::net
