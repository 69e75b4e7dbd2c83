#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dbproxy/sdk/plugin.h"
#include "plugins/push/quiet_hours.h"

namespace dbproxy::plugins::push {

// The settings of plugins.modules.push (see config_schema.yaml). Immutable after Init.
struct Config {
  std::shared_ptr<const QuietHours> quiet_hours;
  size_t max_users_per_request = 10000;  // user ids honoured in one 0x0705 request
  // Test only: when non-zero, the push module's clock reads this unix time instead of the
  // real one (quiet hours). Never set it in production.
  int64_t now_override_unix = 0;

  // The instant quiet hours are judged at.
  int64_t Now() const;
};

// Reads and checks the module's config keys (loading the time zone). Init only.
// Returns the config, or DBP_E_CONFIG naming the key and what it accepts.
sdk::Result<Config> LoadConfig(sdk::Host& host);

}  // namespace dbproxy::plugins::push
