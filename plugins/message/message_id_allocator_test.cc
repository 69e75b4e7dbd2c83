#include "plugins/message/message_id_allocator.h"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace dbproxy::plugins::message {
namespace {

constexpr uint64_t kMax32 = std::numeric_limits<uint32_t>::max();

TEST(NextMsgId, StartsAtOneForAnEmptyConversation) { EXPECT_EQ(NextMsgId(0, 0), 1u); }

TEST(NextMsgId, FollowsTheHigherOfStoredMaximumAndCounter) {
  EXPECT_EQ(NextMsgId(5, 3), 6u);    // counter lost or rolled back (W8)
  EXPECT_EQ(NextMsgId(3, 10), 11u);  // an original server handed out ids up to 10
  EXPECT_EQ(NextMsgId(7, 7), 8u);
}

TEST(NextMsgId, RefusesIdsBeyondTheUint32Column) {
  EXPECT_EQ(NextMsgId(kMax32 - 1, 0), static_cast<uint32_t>(kMax32));
  EXPECT_EQ(NextMsgId(kMax32, 0), std::nullopt);
  EXPECT_EQ(NextMsgId(0, kMax32 + 5), std::nullopt);
}

TEST(ParseCounter, ReadsDecimalIntegers) {
  EXPECT_EQ(ParseCounter("0"), 0u);
  EXPECT_EQ(ParseCounter("42"), 42u);
  EXPECT_EQ(ParseCounter("4294967296"), 4294967296u);
}

TEST(ParseCounter, ReadsNegativeValuesAsZero) { EXPECT_EQ(ParseCounter("-1"), 0u); }

TEST(ParseCounter, RejectsAnythingElse) {
  EXPECT_EQ(ParseCounter(""), std::nullopt);
  EXPECT_EQ(ParseCounter("abc"), std::nullopt);
  EXPECT_EQ(ParseCounter("12a"), std::nullopt);
  EXPECT_EQ(ParseCounter("-"), std::nullopt);
  EXPECT_EQ(ParseCounter(" 1"), std::nullopt);
}

}  // namespace
}  // namespace dbproxy::plugins::message
