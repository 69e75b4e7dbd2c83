#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/login/login_limiter.h"

namespace dbproxy::plugins::login {

// The settings of plugins.modules.login (see config_schema.yaml). A plain value.
struct Config {
  LoginLimiter::Limits limiter;
};

// Reads and checks the module's config keys. Init only.
// Returns the config, or DBP_E_CONFIG naming the key and the accepted range.
sdk::Result<Config> LoadConfig(sdk::Host& host);

}  // namespace dbproxy::plugins::login
