#include "plugins/push/quiet_hours.h"

namespace dbproxy::plugins::push {

std::optional<int> ParseClockMinutes(std::string_view text) {
  auto digit = [&](size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
    return std::nullopt;
  }
  int h = (text[0] - '0') * 10 + (text[1] - '0');
  int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) {
    return std::nullopt;
  }
  return h * 60 + m;
}

int QuietHours::LocalMinute(int64_t unix_seconds) const {
  int64_t local = unix_seconds + zone_.OffsetAt(unix_seconds);
  int64_t second_of_day = ((local % 86400) + 86400) % 86400;
  return static_cast<int>(second_of_day / 60);
}

bool QuietHours::Contains(int64_t unix_seconds) const {
  if (start_ == end_) {
    return false;
  }
  int m = LocalMinute(unix_seconds);
  if (start_ < end_) {
    return m >= start_ && m < end_;
  }
  return m >= start_ || m < end_;  // the window crosses midnight
}

}  // namespace dbproxy::plugins::push
