#pragma once

// The push quiet hours (TeamTalk hard-coded 22:00-07:59 server-local time; here they are
// configurable): a daily window [start, end) of local wall-clock minutes in a configured
// IANA time zone. start > end crosses midnight (22:00-08:00); start == end means no quiet
// hours at all. Immutable after construction: any thread.

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "plugins/push/time_zone.h"

namespace dbproxy::plugins::push {

// "HH:MM" (00:00-23:59) as minutes after midnight; nullopt if malformed.
std::optional<int> ParseClockMinutes(std::string_view text);

class QuietHours {
 public:
  QuietHours(int start_minute, int end_minute, TimeZone zone)
      : start_(start_minute), end_(end_minute), zone_(std::move(zone)) {}

  // True if the instant falls inside the window, in the zone's local time.
  bool Contains(int64_t unix_seconds) const;
  // Minutes after local midnight at the instant (0..1439).
  int LocalMinute(int64_t unix_seconds) const;

 private:
  int start_;
  int end_;
  TimeZone zone_;
};

}  // namespace dbproxy::plugins::push
