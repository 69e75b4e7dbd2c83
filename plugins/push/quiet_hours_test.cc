#include "plugins/push/quiet_hours.h"

#include <gtest/gtest.h>

namespace dbproxy::plugins::push {
namespace {

// 2024-01-15 00:00:00 UTC.
constexpr int64_t kMidnightUtc = 1705276800;

int64_t At(int hour, int minute) { return kMidnightUtc + hour * 3600 + minute * 60; }

TEST(ParseClockMinutes, AcceptsOnlyHhMm) {
  EXPECT_EQ(ParseClockMinutes("00:00"), 0);
  EXPECT_EQ(ParseClockMinutes("22:00"), 22 * 60);
  EXPECT_EQ(ParseClockMinutes("23:59"), 23 * 60 + 59);
  for (const char* bad : {"24:00", "7:00", "07:60", "0700", "07:0a", "", " 07:00"}) {
    EXPECT_FALSE(ParseClockMinutes(bad).has_value()) << bad;
  }
}

TEST(QuietHours, WindowCrossingMidnightCoversBothSides) {
  QuietHours q(22 * 60, 8 * 60, TimeZone::Utc());
  EXPECT_FALSE(q.Contains(At(21, 59)));
  EXPECT_TRUE(q.Contains(At(22, 0)));
  EXPECT_TRUE(q.Contains(At(23, 59)));
  EXPECT_TRUE(q.Contains(At(0, 0)));
  EXPECT_TRUE(q.Contains(At(7, 59)));
  EXPECT_FALSE(q.Contains(At(8, 0)));  // the end is exclusive
  EXPECT_FALSE(q.Contains(At(12, 0)));
}

TEST(QuietHours, WindowWithinOneDay) {
  QuietHours q(13 * 60, 14 * 60 + 30, TimeZone::Utc());
  EXPECT_FALSE(q.Contains(At(12, 59)));
  EXPECT_TRUE(q.Contains(At(13, 0)));
  EXPECT_TRUE(q.Contains(At(14, 29)));
  EXPECT_FALSE(q.Contains(At(14, 30)));
  EXPECT_FALSE(q.Contains(At(2, 0)));
}

TEST(QuietHours, EqualStartAndEndMeansNoQuietHours) {
  QuietHours q(8 * 60, 8 * 60, TimeZone::Utc());
  for (int h = 0; h < 24; ++h) {
    EXPECT_FALSE(q.Contains(At(h, 0))) << h;
  }
}

TEST(QuietHours, UsesTheZonesLocalTime) {
  auto shanghai = TimeZone::Load("Asia/Shanghai");  // UTC+8, no DST
  ASSERT_TRUE(shanghai.ok());
  QuietHours q(22 * 60, 8 * 60, std::move(*shanghai));
  EXPECT_TRUE(q.Contains(At(14, 0)));        // 22:00 local
  EXPECT_TRUE(q.Contains(At(23, 59)));       // 07:59 local, next day
  EXPECT_FALSE(q.Contains(At(0, 0)));        // 08:00 local
  EXPECT_FALSE(q.Contains(At(13, 59)));      // 21:59 local
  EXPECT_EQ(q.LocalMinute(At(16, 30)), 30);  // 00:30 local
}

TEST(QuietHours, FollowsDaylightSavingTime) {
  auto ny = TimeZone::Load("America/New_York");
  ASSERT_TRUE(ny.ok());
  QuietHours q(22 * 60, 8 * 60, std::move(*ny));
  // 2024-07-01 02:30 UTC = 22:30 EDT (UTC-4); in January the same UTC time is 21:30 EST.
  EXPECT_TRUE(q.Contains(1719801000));
  EXPECT_FALSE(q.Contains(At(2, 30)));
}

}  // namespace
}  // namespace dbproxy::plugins::push
