#include "plugins/common/latest_cache.h"

#include <gtest/gtest.h>

namespace dbproxy::plugins::latest_cache {
namespace {

TEST(LatestCache, KeyIsThePairSmallerIdFirst) {
  EXPECT_EQ(Key(7, 3), "dbproxy_latest_3_7");
  EXPECT_EQ(Key(3, 7), "dbproxy_latest_3_7");
}

TEST(LatestCache, EncodeDecodeKeepsCommasAndAnyBytesOfTheContent) {
  Entry e{42, 9, 2, 1001, std::string("a,b,\0,\xff", 7)};
  Entry back;
  ASSERT_TRUE(Decode(Encode(e), &back));
  EXPECT_EQ(back.msg_id, 42u);
  EXPECT_EQ(back.relate_id, 9u);
  EXPECT_EQ(back.msg_type, 2u);
  EXPECT_EQ(back.from_user_id, 1001u);
  EXPECT_EQ(back.content, e.content);
  EXPECT_EQ(Encode(Entry{1, 2, 3, 4, ""}), "1,2,3,4,");
}

TEST(LatestCache, DecodeRefusesWhatIsNotAnEntry) {
  Entry out;
  EXPECT_FALSE(Decode("", &out));
  EXPECT_FALSE(Decode("1,2,3", &out));
  EXPECT_FALSE(Decode("1,2,3,4", &out));  // no comma before the content
  EXPECT_FALSE(Decode("1,x,3,4,c", &out));
  EXPECT_FALSE(Decode(",2,3,4,c", &out));
  EXPECT_FALSE(Decode("99999999999,2,3,4,c", &out));  // beyond uint32
  EXPECT_TRUE(Decode("1,2,3,4,", &out));
}

}  // namespace
}  // namespace dbproxy::plugins::latest_cache
