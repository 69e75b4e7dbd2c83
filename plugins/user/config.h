#pragma once

#include <cstddef>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::user {

// The settings of plugins.modules.user (see config_schema.yaml). A plain value.
struct Config {
  size_t max_users_per_request = 1000;    // ids honoured in one 0x0204 request
  size_t user_batch_size = 1000;          // rows per keyset-paginated SELECT
  size_t max_users_per_response = 20000;  // users in one 0x0205 / 0x0209 answer
  size_t max_response_bytes = 1048560;    // protobuf body of one answer; <= max_frame_bytes - 16
  size_t max_departments_per_response = 5000;
};

// Reads and checks the module's config keys. Init only.
// Returns the config, or DBP_E_CONFIG naming the key and the accepted range.
sdk::Result<Config> LoadConfig(sdk::Host& host);

}  // namespace dbproxy::plugins::user
