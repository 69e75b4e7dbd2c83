#include "plugins/push/time_zone.h"

#include <stdlib.h>
#include <time.h>

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace dbproxy::plugins::push {
namespace {

// The C library's offset for a TZ value at an instant. Tests are single-threaded, so
// changing TZ here is safe (it is exactly what the module must not do in the daemon).
int32_t LibcOffset(const std::string& tz, int64_t t) {
  setenv("TZ", tz.c_str(), 1);
  tzset();
  time_t tt = static_cast<time_t>(t);
  struct tm local {};
  localtime_r(&tt, &local);
  return static_cast<int32_t>(local.tm_gmtoff);
}

// Instants from 1900 to 2100 every ~37 hours, plus the seconds around DST changes.
void ExpectSameAsLibc(const std::string& name) {
  auto zone = TimeZone::Load(name);
  ASSERT_TRUE(zone.ok()) << zone.status().message();
  const std::string tz = ":" + name;
  int mismatches = 0;
  for (int64_t t = -2208988800LL; t < 4102444800LL && mismatches < 5; t += 133331) {
    int32_t expected = LibcOffset(tz, t);
    if (zone->OffsetAt(t) != expected) {
      ADD_FAILURE() << name << " at " << t << ": ours " << zone->OffsetAt(t) << ", libc "
                    << expected;
      ++mismatches;
    }
    // Around a change found between t and the next probe: check each side exactly.
    int32_t next = LibcOffset(tz, t + 133331);
    if (next != expected) {
      int64_t lo = t;
      int64_t hi = t + 133331;
      while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        (LibcOffset(tz, mid) == expected ? lo : hi) = mid;
      }
      EXPECT_EQ(zone->OffsetAt(lo), LibcOffset(tz, lo)) << name << " just before " << hi;
      EXPECT_EQ(zone->OffsetAt(hi), LibcOffset(tz, hi)) << name << " at change " << hi;
    }
  }
}

TEST(TimeZone, UtcNeedsNoFile) {
  auto zone = TimeZone::Load("UTC");
  ASSERT_TRUE(zone.ok());
  EXPECT_EQ(zone->OffsetAt(0), 0);
  EXPECT_EQ(zone->OffsetAt(1700000000), 0);
}

TEST(TimeZone, MatchesLibcForZonesWithAndWithoutDst) {
  for (const char* name :
       {"America/New_York", "Europe/Berlin", "Asia/Shanghai", "Australia/Sydney", "Asia/Kolkata",
        "America/St_Johns", "Pacific/Chatham", "Europe/Dublin", "America/Sao_Paulo",
        "Africa/Casablanca", "America/Nuuk", "Pacific/Apia", "Asia/Tokyo", "Etc/GMT+5"}) {
    ExpectSameAsLibc(name);
  }
}

TEST(TimeZone, RejectsPathsAndUnknownNames) {
  EXPECT_FALSE(TimeZone::Load("../etc/passwd").ok());
  EXPECT_FALSE(TimeZone::Load("/usr/share/zoneinfo/UTC").ok());
  EXPECT_FALSE(TimeZone::Load("").ok());
  auto missing = TimeZone::Load("Mars/Olympus_Mons");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), DBP_E_CONFIG);
  EXPECT_NE(missing.status().message().find("Mars/Olympus_Mons"), std::string::npos);
}

TEST(TimeZone, RejectsFilesThatAreNotTzif) {
  EXPECT_FALSE(TimeZone::Parse("x", "").ok());
  EXPECT_FALSE(TimeZone::Parse("x", "not a zone file at all, but long enough to be read").ok());
  std::string truncated = "TZif2";
  truncated.resize(60, '\0');
  truncated[20 + 15] = 5;  // timecnt 5 with no data behind it
  EXPECT_FALSE(TimeZone::Parse("x", truncated).ok());
}

TEST(PosixTzRule, MatchesLibcForRuleStrings) {
  for (const char* rule : {"EST5EDT,M3.2.0,M11.1.0", "CET-1CEST,M3.5.0,M10.5.0/3", "<+0330>-3:30",
                           "NZST-12NZDT,M9.5.0,M4.1.0/3", "IST-1GMT0,M10.5.0,M3.5.0/1",
                           "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "XXX3YYY,J60/2,J300/2",
                           "XXX3YYY,59/2,299/2", "<+13>-13"}) {
    auto parsed = PosixTzRule::Parse(rule);
    ASSERT_TRUE(parsed.has_value()) << rule;
    for (int64_t t = 946684800; t < 4102444800LL; t += 86399 * 3 + 1234) {
      ASSERT_EQ(parsed->OffsetAt(t), LibcOffset(rule, t)) << rule << " at " << t;
    }
  }
}

// RFC 8536 3.3.1's idiom for daylight time all year; glibc 2.36 reads the 25:00 end
// differently, so this one is checked against the RFC instead of libc.
TEST(PosixTzRule, AllYearDaylightIdiom) {
  auto parsed = PosixTzRule::Parse("EST5EDT,0/0,J365/25");
  ASSERT_TRUE(parsed.has_value());
  for (int64_t t = 946684800; t < 4102444800LL; t += 86399 * 7 + 1234) {
    ASSERT_EQ(parsed->OffsetAt(t), -4 * 3600) << t;
  }
}

TEST(PosixTzRule, RejectsMalformedRules) {
  for (const char* rule :
       {"", "E5", "EST", "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
        "EST5EDT,M3.2.7,M11.1.0", "<+03-3", "EST5EDT,J0,J100", "EST5EDT,M3.2.0,M11.1.0x"}) {
    EXPECT_FALSE(PosixTzRule::Parse(rule).has_value()) << rule;
  }
}

}  // namespace
}  // namespace dbproxy::plugins::push
