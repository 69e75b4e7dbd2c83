#include "plugins/push/config.h"

#include <ctime>
#include <string>

namespace dbproxy::plugins::push {
namespace {

sdk::Result<int> ReadClock(sdk::Host& host, const char* key, const char* def) {
  auto text = host.ConfigString(key, def);
  if (!text.ok()) {
    return text.status();
  }
  std::optional<int> minutes = ParseClockMinutes(*text);
  if (!minutes) {
    return sdk::Status(
        DBP_E_CONFIG, sdk::StrCat("push.", key, " must be HH:MM (00:00-23:59), got '", *text, "'"));
  }
  return *minutes;
}

}  // namespace

int64_t Config::Now() const {
  return now_override_unix != 0 ? now_override_unix : static_cast<int64_t>(std::time(nullptr));
}

sdk::Result<Config> LoadConfig(sdk::Host& host) {
  Config c;
  auto start = ReadClock(host, "quiet_hours_start", "22:00");
  if (!start.ok()) {
    return start.status();
  }
  auto end = ReadClock(host, "quiet_hours_end", "08:00");
  if (!end.ok()) {
    return end.status();
  }
  auto zone_name = host.ConfigString("time_zone", "UTC");
  if (!zone_name.ok()) {
    return zone_name.status();
  }
  auto zone = TimeZone::Load(*zone_name);
  if (!zone.ok()) {
    return sdk::Status(DBP_E_CONFIG, "push.time_zone: " + zone.status().message());
  }
  c.quiet_hours = std::make_shared<const QuietHours>(*start, *end, std::move(*zone));

  auto max_users = host.ConfigInt("max_users_per_request", 10000);
  if (!max_users.ok()) {
    return max_users.status();
  }
  if (*max_users < 1 || *max_users > 100000) {
    return sdk::Status(DBP_E_CONFIG, sdk::StrCat("push.max_users_per_request must be between 1 "
                                                 "and 100000, got ",
                                                 *max_users));
  }
  c.max_users_per_request = static_cast<size_t>(*max_users);

  auto now = host.ConfigInt("now_override_unix", 0);
  if (!now.ok()) {
    return now.status();
  }
  if (*now < 0) {
    return sdk::Status(DBP_E_CONFIG, "push.now_override_unix must be 0 (off) or a unix time");
  }
  c.now_override_unix = *now;
  if (c.now_override_unix != 0) {
    host.Warn("now_override_unix is set (", c.now_override_unix,
              "): quiet hours follow a fixed clock; this key is for tests only");
  }
  return c;
}

}  // namespace dbproxy::plugins::push
