#include "plugins/common/latest_messages.h"

#include <string>

#include <gtest/gtest.h>

namespace dbproxy::plugins::latest_messages {
namespace {

TEST(ProbeCell, SplitsTheThreeNumbersFromTheContent) {
  LatestMessage m;
  ASSERT_TRUE(ParseProbeCell("4294967295,17,500,hello", &m));
  EXPECT_EQ(m.msg_id, 4294967295u);
  EXPECT_EQ(m.msg_type, 17u);
  EXPECT_EQ(m.from_user_id, 500u);
  EXPECT_EQ(m.content, "hello");
}

TEST(ProbeCell, ContentKeepsItsCommasAndBytes) {
  LatestMessage m;
  std::string cell = std::string("2,1,9,a,b,,c\0\xff", 14);
  ASSERT_TRUE(ParseProbeCell(cell, &m));
  EXPECT_EQ(m.msg_id, 2u);
  EXPECT_EQ(m.content, std::string("a,b,,c\0\xff", 8));
}

TEST(ProbeCell, EmptyAndNullContentAreBothEmpty) {
  LatestMessage m;
  m.content = "stale";
  ASSERT_TRUE(ParseProbeCell("3,2,8,", &m));  // content ''
  EXPECT_EQ(m.content, "");
  m.content = "stale";
  ASSERT_TRUE(ParseProbeCell("3,2,8", &m));  // content NULL: CONCAT_WS leaves it out
  EXPECT_EQ(m.msg_id, 3u);
  EXPECT_EQ(m.msg_type, 2u);
  EXPECT_EQ(m.from_user_id, 8u);
  EXPECT_EQ(m.content, "");
}

TEST(ProbeCell, RejectsCellsWithoutThreeNumbers) {
  LatestMessage m;
  EXPECT_FALSE(ParseProbeCell("", &m));
  EXPECT_FALSE(ParseProbeCell("1,2", &m));
  EXPECT_FALSE(ParseProbeCell("1,,3,x", &m));
  EXPECT_FALSE(ParseProbeCell("1,2,x3,y", &m));
  EXPECT_FALSE(ParseProbeCell("-1,2,3,y", &m));
  EXPECT_FALSE(ParseProbeCell("4294967296,2,3,y", &m));  // does not fit msgId's uint32
}

}  // namespace
}  // namespace dbproxy::plugins::latest_messages
