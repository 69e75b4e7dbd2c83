#pragma once

#include <cstddef>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::file {

// The settings of plugins.modules.file (see config_schema.yaml). A plain value.
struct Config {
  size_t max_offline_files = 1000;  // rows in one 0x050a answer
};

// Reads and checks the module's config keys. Init only.
sdk::Result<Config> LoadConfig(sdk::Host& host);

}  // namespace dbproxy::plugins::file
