#pragma once

// UTC offsets of an IANA time zone, read once from the system's tzdata (TZif files under
// /usr/share/zoneinfo, or $TZDIR) by a small reader of our own.
//
// Why not the C library: localtime_r() follows the process-wide TZ variable, and changing
// that variable while other threads (the logger, other modules) format local times is a
// data race. GCC 12's libstdc++ has no std::chrono::locate_zone. So the zone is parsed once
// at start-up into an immutable table and looked up without locks or global state.
//
// Supported: TZif versions 1-4 (the 64-bit block when present), and the POSIX TZ footer
// rule for instants after the last listed transition (Jn, n and Mm.w.d dates, times from
// -167 to 167 hours). Leap seconds are ignored (as by localtime).
//
// Thread: Load/Parse anywhere; a loaded TimeZone is immutable, so const methods may be
// called from any thread concurrently.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dbproxy/sdk/status.h"

namespace dbproxy::plugins::push {

// A POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3" (the TZif footer).
struct PosixTzRule {
  struct Date {
    enum Kind { kJulianNoLeap, kZeroBasedDay, kMonthWeekDay };
    Kind kind = kMonthWeekDay;
    int day = 0;          // Jn: 1..365; n: 0..365; M: weekday 0 (Sunday)..6
    int month = 0;        // M only: 1..12
    int week = 0;         // M only: 1..5 (5 = last)
    int32_t time = 7200;  // seconds after local midnight (default 02:00)
  };
  int32_t std_offset = 0;  // seconds east of UTC
  bool has_dst = false;
  int32_t dst_offset = 0;
  Date start;  // DST starts (local standard time)
  Date end;    // DST ends (local daylight time)

  // Parses the rule; nullopt if it is malformed.
  static std::optional<PosixTzRule> Parse(std::string_view text);
  int32_t OffsetAt(int64_t unix_seconds) const;
};

class TimeZone {
 public:
  // "UTC" (and "Etc/UTC") without any file; otherwise <TZDIR or /usr/share/zoneinfo>/<name>.
  // Names must be relative paths without "..". Returns DBP_E_CONFIG naming the zone when it
  // cannot be read or parsed.
  static sdk::Result<TimeZone> Load(std::string_view name);
  // Parses the bytes of a TZif file.
  static sdk::Result<TimeZone> Parse(std::string_view name, std::string_view tzif);
  static TimeZone Utc();

  const std::string& name() const { return name_; }
  // Seconds east of UTC in effect at the given instant.
  int32_t OffsetAt(int64_t unix_seconds) const;

 private:
  std::string name_;
  std::vector<int64_t> transitions_;       // ascending instants
  std::vector<uint8_t> transition_types_;  // index into type_offsets_, per transition
  std::vector<int32_t> type_offsets_;      // at least one entry
  std::optional<PosixTzRule> footer_;      // for instants after the last transition
};

}  // namespace dbproxy::plugins::push
