#include "tools/bench/wire_frame.h"

#include <string>

#include <gtest/gtest.h>

namespace dbproxy::bench {
namespace {

std::string Frame(uint16_t command, uint16_t seq, const std::string& body) {
  std::string out;
  AppendFrame(0x0003, command, seq, body, &out);
  return out;
}

TEST(WireFrame, EncodesTheHeaderBigEndian) {
  std::string out;
  AppendFrame(0x0007, 0x0703, 0x1234, "ab", &out);
  const std::string expected(
      "\x00\x00\x00\x12"  // length 18
      "\x00\x01"          // version
      "\x00\x00"          // flag
      "\x00\x07"          // service
      "\x07\x03"          // command
      "\x12\x34"          // seq
      "\x00\x00"          // reserved
      "ab",
      18);
  EXPECT_EQ(out, expected);
}

TEST(WireFrame, DecodeHeaderReadsWhatAppendFrameWrote) {
  std::string out;
  AppendFrame(0x0102, 0xfffe, 0xabcd, std::string(300, 'x'), &out);
  FrameHeader header = DecodeHeader(out);
  EXPECT_EQ(header.length, 316u);
  EXPECT_EQ(header.version, 1);
  EXPECT_EQ(header.flag, 0);
  EXPECT_EQ(header.service_id, 0x0102);
  EXPECT_EQ(header.command_id, 0xfffe);
  EXPECT_EQ(header.seq, 0xabcd);
  EXPECT_EQ(header.reserved, 0);
}

TEST(FrameReader, ReassemblesAFrameDeliveredOneByteAtATime) {
  const std::string bytes = Frame(0x0308, 7, "hello");
  FrameReader reader;
  FrameReader::Frame frame;
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    reader.Append(&bytes[i], 1);
    ASSERT_EQ(reader.Next(&frame), FrameReader::kNeedMore) << "after byte " << i;
  }
  reader.Append(&bytes.back(), 1);
  ASSERT_EQ(reader.Next(&frame), FrameReader::kFrame);
  EXPECT_EQ(frame.header.command_id, 0x0308);
  EXPECT_EQ(frame.header.seq, 7);
  EXPECT_EQ(frame.body, "hello");
  EXPECT_EQ(reader.Next(&frame), FrameReader::kNeedMore);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(FrameReader, SplitsFramesThatArriveInOneRead) {
  const std::string bytes = Frame(0x0308, 1, "a") + Frame(0x0701, 0, "") + Frame(0x030a, 3, "ccc");
  FrameReader reader;
  reader.Append(bytes.data(), bytes.size());
  FrameReader::Frame frame;
  ASSERT_EQ(reader.Next(&frame), FrameReader::kFrame);
  EXPECT_EQ(frame.header.seq, 1);
  EXPECT_EQ(frame.body, "a");
  ASSERT_EQ(reader.Next(&frame), FrameReader::kFrame);
  EXPECT_EQ(frame.header.command_id, 0x0701);
  EXPECT_EQ(frame.header.length, 16u);
  EXPECT_TRUE(frame.body.empty());
  ASSERT_EQ(reader.Next(&frame), FrameReader::kFrame);
  EXPECT_EQ(frame.header.seq, 3);
  EXPECT_EQ(frame.body, "ccc");
  EXPECT_EQ(reader.Next(&frame), FrameReader::kNeedMore);
}

TEST(FrameReader, KeepsAPartialTailForTheNextRead) {
  const std::string first = Frame(0x0308, 1, "first");
  const std::string second = Frame(0x0308, 2, "second");
  const std::string bytes = first + second;
  const size_t cut = first.size() + 5;  // inside the second header
  FrameReader reader;
  reader.Append(bytes.data(), cut);
  FrameReader::Frame frame;
  ASSERT_EQ(reader.Next(&frame), FrameReader::kFrame);
  EXPECT_EQ(frame.body, "first");
  ASSERT_EQ(reader.Next(&frame), FrameReader::kNeedMore);
  EXPECT_EQ(reader.buffered_bytes(), 5u);
  reader.Append(bytes.data() + cut, bytes.size() - cut);
  ASSERT_EQ(reader.Next(&frame), FrameReader::kFrame);
  EXPECT_EQ(frame.header.seq, 2);
  EXPECT_EQ(frame.body, "second");
}

TEST(FrameReader, RejectsALengthShorterThanTheHeaderForGood) {
  std::string bytes = Frame(0x0308, 1, "");
  bytes[3] = 15;  // length 15
  FrameReader reader;
  reader.Append(bytes.data(), bytes.size());
  FrameReader::Frame frame;
  EXPECT_EQ(reader.Next(&frame), FrameReader::kBroken);
  const std::string good = Frame(0x0308, 2, "");
  reader.Append(good.data(), good.size());
  EXPECT_EQ(reader.Next(&frame), FrameReader::kBroken);
}

TEST(FrameReader, RejectsALengthAboveTheLimit) {
  std::string bytes = Frame(0x0308, 1, "");
  bytes[0] = 0x7f;  // ~2 GiB
  FrameReader reader;
  reader.Append(bytes.data(), bytes.size());
  FrameReader::Frame frame;
  EXPECT_EQ(reader.Next(&frame), FrameReader::kBroken);
}

}  // namespace
}  // namespace dbproxy::bench
