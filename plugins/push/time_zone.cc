#include "plugins/push/time_zone.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace dbproxy::plugins::push {
namespace {

constexpr int64_t kDay = 86400;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// The year of a day count since 1970-01-01 (the inverse's year part).
int64_t YearFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Local seconds (since 1970-01-01 local midnight) at which a rule date falls in year y.
int64_t LocalTransition(const PosixTzRule::Date& date, int64_t y) {
  int64_t day = 0;
  switch (date.kind) {
    case PosixTzRule::Date::kJulianNoLeap:
      // Day 1..365, February 29 never counted.
      day = DaysFromCivil(y, 1, 1) + date.day - 1 + (IsLeap(y) && date.day >= 60 ? 1 : 0);
      break;
    case PosixTzRule::Date::kZeroBasedDay:
      day = DaysFromCivil(y, 1, 1) + date.day;
      break;
    case PosixTzRule::Date::kMonthWeekDay: {
      const unsigned m = static_cast<unsigned>(date.month);
      const int64_t first = DaysFromCivil(y, m, 1);
      const int64_t first_weekday = ((first % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday
      int64_t mday = 1 + ((date.day - first_weekday) % 7 + 7) % 7 + (date.week - 1) * 7;
      while (mday > static_cast<int64_t>(DaysInMonth(y, m))) {
        mday -= 7;
      }
      day = first + mday - 1;
      break;
    }
  }
  return day * kDay + date.time;
}

// A tiny cursor over the rule text.
class RuleReader {
 public:
  explicit RuleReader(std::string_view s) : s_(s) {}
  bool done() const { return at_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[at_]; }
  bool Eat(char c) {
    if (peek() != c) {
      return false;
    }
    ++at_;
    return true;
  }
  // A zone abbreviation: "<...>" or three or more letters.
  bool Name() {
    if (Eat('<')) {
      size_t close = s_.find('>', at_);
      if (close == std::string_view::npos) {
        return false;
      }
      at_ = close + 1;
      return true;
    }
    size_t start = at_;
    while (!done() && ((peek() >= 'A' && peek() <= 'Z') || (peek() >= 'a' && peek() <= 'z'))) {
      ++at_;
    }
    return at_ - start >= 3;
  }
  bool Number(int max, int* out) {
    size_t start = at_;
    int v = 0;
    while (!done() && peek() >= '0' && peek() <= '9') {
      v = v * 10 + (peek() - '0');
      if (v > max) {
        return false;
      }
      ++at_;
    }
    *out = v;
    return at_ > start;
  }
  // [+-]hh[:mm[:ss]] as seconds, with the sign as written.
  bool Duration(int max_hours, int32_t* out) {
    int sign = 1;
    if (Eat('-')) {
      sign = -1;
    } else {
      (void)Eat('+');
    }
    int h = 0;
    int m = 0;
    int sec = 0;
    if (!Number(max_hours, &h)) {
      return false;
    }
    if (Eat(':') && (!Number(59, &m) || (Eat(':') && !Number(59, &sec)))) {
      return false;
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }
  bool Date(PosixTzRule::Date* d) {
    if (Eat('J')) {
      d->kind = PosixTzRule::Date::kJulianNoLeap;
      if (!Number(365, &d->day) || d->day < 1) {
        return false;
      }
    } else if (Eat('M')) {
      d->kind = PosixTzRule::Date::kMonthWeekDay;
      if (!Number(12, &d->month) || d->month < 1 || !Eat('.') || !Number(5, &d->week) ||
          d->week < 1 || !Eat('.') || !Number(6, &d->day)) {
        return false;
      }
    } else {
      d->kind = PosixTzRule::Date::kZeroBasedDay;
      if (!Number(365, &d->day)) {
        return false;
      }
    }
    d->time = 7200;
    return !Eat('/') || Duration(167, &d->time);
  }

 private:
  std::string_view s_;
  size_t at_ = 0;
};

uint32_t Be32(std::string_view b, size_t at) {
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(b[at + i])); };
  return (u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3);
}

int64_t Be64(std::string_view b, size_t at) {
  return static_cast<int64_t>((static_cast<uint64_t>(Be32(b, at)) << 32) | Be32(b, at + 4));
}

sdk::Status Bad(std::string_view name, const char* why) {
  return sdk::Status(DBP_E_CONFIG, std::string("time zone '") + std::string(name) + "': " + why);
}

}  // namespace

std::optional<PosixTzRule> PosixTzRule::Parse(std::string_view text) {
  PosixTzRule r;
  RuleReader in(text);
  int32_t west = 0;
  if (!in.Name() || !in.Duration(24, &west)) {
    return std::nullopt;
  }
  r.std_offset = -west;
  if (in.done()) {
    return r;
  }
  if (!in.Name()) {
    return std::nullopt;
  }
  r.has_dst = true;
  r.dst_offset = r.std_offset + 3600;
  if (!in.done() && in.peek() != ',') {
    if (!in.Duration(24, &west)) {
      return std::nullopt;
    }
    r.dst_offset = -west;
  }
  if (in.done()) {
    // No dates given: POSIX leaves them to the implementation; use the US rules as glibc.
    r.start = Date{Date::kMonthWeekDay, 0, 3, 2, 7200};
    r.end = Date{Date::kMonthWeekDay, 0, 11, 1, 7200};
    return r;
  }
  if (!in.Eat(',') || !in.Date(&r.start) || !in.Eat(',') || !in.Date(&r.end) || !in.done()) {
    return std::nullopt;
  }
  return r;
}

int32_t PosixTzRule::OffsetAt(int64_t t) const {
  if (!has_dst) {
    return std_offset;
  }
  const int64_t year = YearFromDays(FloorDiv(t + std_offset, kDay));
  const int64_t start_utc = LocalTransition(start, year) - std_offset;
  const int64_t end_utc = LocalTransition(end, year) - dst_offset;
  bool dst = start_utc < end_utc ? (t >= start_utc && t < end_utc)    // northern hemisphere
                                 : !(t >= end_utc && t < start_utc);  // southern hemisphere
  return dst ? dst_offset : std_offset;
}

TimeZone TimeZone::Utc() {
  TimeZone z;
  z.name_ = "UTC";
  z.type_offsets_.push_back(0);
  return z;
}

sdk::Result<TimeZone> TimeZone::Load(std::string_view name) {
  if (name == "UTC" || name == "Etc/UTC") {
    TimeZone z = Utc();
    z.name_ = std::string(name);
    return z;
  }
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) {
    return Bad(name, "must be an IANA name such as Asia/Shanghai");
  }
  const char* dir = std::getenv("TZDIR");  // read once, at start-up, on the control thread
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo") +
                     "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Bad(name, ("cannot read " + path).c_str());
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return Parse(name, bytes);
}

sdk::Result<TimeZone> TimeZone::Parse(std::string_view name, std::string_view b) {
  constexpr size_t kHeader = 44;
  if (b.size() < kHeader || b.substr(0, 4) != "TZif") {
    return Bad(name, "not a TZif file");
  }
  // Counts: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
  auto counts = [&](size_t at, uint32_t c[6]) {
    for (int i = 0; i < 6; ++i) {
      c[i] = Be32(b, at + 20 + 4 * static_cast<size_t>(i));
    }
  };
  uint32_t c[6];
  counts(0, c);
  size_t time_size = 4;
  size_t at = kHeader;
  auto block_size = [&](const uint32_t n[6], size_t tsize) {
    return n[3] * tsize + n[3] + n[4] * 6 + n[5] + n[2] * (tsize + 4) + n[1] + n[0];
  };
  const char version = b[4];
  if (version >= '2') {
    // Skip the 32-bit block; the 64-bit one follows with its own header.
    at += block_size(c, 4);
    if (b.size() < at + kHeader || b.substr(at, 4) != "TZif") {
      return Bad(name, "truncated TZif file");
    }
    counts(at, c);
    at += kHeader;
    time_size = 8;
  }
  if (c[4] == 0 || b.size() < at + block_size(c, time_size)) {
    return Bad(name, "truncated TZif file");
  }

  TimeZone z;
  z.name_ = std::string(name);
  for (uint32_t i = 0; i < c[3]; ++i) {
    size_t p = at + i * time_size;
    z.transitions_.push_back(time_size == 8 ? Be64(b, p) : static_cast<int32_t>(Be32(b, p)));
  }
  at += c[3] * time_size;
  for (uint32_t i = 0; i < c[3]; ++i) {
    uint8_t type = static_cast<uint8_t>(b[at + i]);
    if (type >= c[4]) {
      return Bad(name, "transition names a missing type");
    }
    z.transition_types_.push_back(type);
  }
  at += c[3];
  for (uint32_t i = 0; i < c[4]; ++i) {
    z.type_offsets_.push_back(static_cast<int32_t>(Be32(b, at + i * 6)));
  }
  at += block_size(c, time_size) - c[3] * time_size - c[3];
  if (!std::is_sorted(z.transitions_.begin(), z.transitions_.end())) {
    return Bad(name, "transitions out of order");
  }
  if (version >= '2' && at < b.size() && b[at] == '\n') {
    size_t end = b.find('\n', at + 1);
    if (end != std::string_view::npos && end > at + 1) {
      z.footer_ = PosixTzRule::Parse(b.substr(at + 1, end - at - 1));
      if (!z.footer_) {
        return Bad(name, "malformed TZ rule in the footer");
      }
    }
  }
  return z;
}

int32_t TimeZone::OffsetAt(int64_t t) const {
  if (transitions_.empty()) {
    return footer_ ? footer_->OffsetAt(t) : type_offsets_.front();
  }
  if (t < transitions_.front()) {
    return type_offsets_.front();  // RFC 8536: type 0 before the first transition
  }
  if (t >= transitions_.back() && footer_) {
    return footer_->OffsetAt(t);
  }
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  size_t i = static_cast<size_t>(it - transitions_.begin()) - 1;
  return type_offsets_[transition_types_[i]];
}

}  // namespace dbproxy::plugins::push
