#include "core/net/frame_codec.h"

#include <gtest/gtest.h>

namespace dbproxy::net {
namespace {

std::string Frame(uint16_t cmd, uint16_t seq, const std::string& body) {
  std::string out;
  AppendFrame(7, cmd, seq, body, &out);
  return out;
}

std::string HeaderWithLength(uint32_t length) {
  FrameHeader h;
  h.length = length;
  h.command_id = 0x0301;
  uint8_t raw[kFrameHeaderBytes];
  EncodeHeader(h, raw);
  return std::string(reinterpret_cast<char*>(raw), kFrameHeaderBytes);
}

TEST(FrameCodec, EncodesBigEndianHeaderWithLengthIncludingHeader) {
  std::string f = Frame(0x0703, 0x1234, "abc");
  ASSERT_EQ(f.size(), 19u);
  EXPECT_EQ(std::string("\x00\x00\x00\x13", 4), f.substr(0, 4));
  EXPECT_EQ(std::string("\x00\x01", 2), f.substr(4, 2));   // version 1
  EXPECT_EQ(std::string("\x00\x00", 2), f.substr(6, 2));   // flag 0
  EXPECT_EQ(std::string("\x00\x07", 2), f.substr(8, 2));   // service
  EXPECT_EQ(std::string("\x07\x03", 2), f.substr(10, 2));  // command
  EXPECT_EQ(std::string("\x12\x34", 2), f.substr(12, 2));  // seq
  EXPECT_EQ(std::string("\x00\x00", 2), f.substr(14, 2));  // reserved
  EXPECT_EQ("abc", f.substr(16));
}

TEST(FrameCodec, DecodesWholeFrame) {
  std::string f = Frame(0x0301, 9, "hello");
  FrameHeader h;
  std::string_view body;
  ASSERT_EQ(DecodeResult::kFrame, DecodeFrame(f, 1 << 20, &h, &body));
  EXPECT_EQ(21u, h.length);
  EXPECT_EQ(0x0301, h.command_id);
  EXPECT_EQ(9, h.seq);
  EXPECT_EQ("hello", body);
}

TEST(FrameCodec, WaitsForEveryPrefixOfASplitFrame) {
  std::string f = Frame(0x0301, 1, std::string(100, 'x'));
  FrameHeader h;
  std::string_view body;
  for (size_t n = 0; n < f.size(); ++n) {
    EXPECT_EQ(DecodeResult::kNeedMore,
              DecodeFrame(std::string_view(f).substr(0, n), 1 << 20, &h, &body))
        << "prefix " << n;
  }
  EXPECT_EQ(DecodeResult::kFrame, DecodeFrame(f, 1 << 20, &h, &body));
}

TEST(FrameCodec, TakesManyFramesFromOneBuffer) {
  std::string all;
  for (int i = 0; i < 50; ++i) {
    all += Frame(0x0307, static_cast<uint16_t>(i), std::string(i, 'y'));
  }
  std::string_view rest = all;
  int count = 0;
  FrameHeader h;
  std::string_view body;
  while (DecodeFrame(rest, 1 << 20, &h, &body) == DecodeResult::kFrame) {
    EXPECT_EQ(count, h.seq);
    EXPECT_EQ(static_cast<size_t>(count), body.size());
    rest.remove_prefix(h.length);
    ++count;
  }
  EXPECT_EQ(50, count);
  EXPECT_TRUE(rest.empty());
}

TEST(FrameCodec, RejectsEveryLengthShorterThanHeader) {
  for (uint32_t len = 0; len < kFrameHeaderBytes; ++len) {
    FrameHeader h;
    std::string_view body;
    EXPECT_EQ(DecodeResult::kBadLength, DecodeFrame(HeaderWithLength(len), 1 << 20, &h, &body))
        << "length " << len;
  }
}

TEST(FrameCodec, RejectsLengthOverMaximumBeforeTheBodyArrives) {
  FrameHeader h;
  std::string_view body;
  EXPECT_EQ(DecodeResult::kBadLength, DecodeFrame(HeaderWithLength(1025), 1024, &h, &body));
  EXPECT_EQ(DecodeResult::kBadLength,
            DecodeFrame(HeaderWithLength(0xFFFFFFFFu), 1 << 20, &h, &body));
  EXPECT_EQ(DecodeResult::kNeedMore, DecodeFrame(HeaderWithLength(1024), 1024, &h, &body));
}

TEST(FrameCodec, AcceptsEmptyBody) {
  std::string f = Frame(0x0701, 0, "");
  FrameHeader h;
  std::string_view body;
  ASSERT_EQ(DecodeResult::kFrame, DecodeFrame(f, 1 << 20, &h, &body));
  EXPECT_TRUE(body.empty());
}

}  // namespace
}  // namespace dbproxy::net
