#pragma once

#include <cstdint>
#include <string>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::unread {

// The settings of plugins.modules.unread (see config_schema.yaml). A plain value.
struct Config {
  std::string aes_key;        // exactly 32 bytes
  std::string audio_preview;  // "[语音]" encrypted with aes_key, shown for audio messages
  uint32_t max_groups = 1000;
  uint32_t repair_interval_ms = 1000;  // how often queued increments are replayed
};

// Reads and checks the module's config keys. Init only.
// Returns the config, or DBP_E_CONFIG naming the key and what it must be.
sdk::Result<Config> LoadConfig(sdk::Host& host);

}  // namespace dbproxy::plugins::unread
