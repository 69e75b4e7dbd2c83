#pragma once

#include <cstdint>
#include <string>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::session {

// The settings of plugins.modules.session (see config_schema.yaml). A plain value.
struct Config {
  uint32_t max_sessions = 100;
  uint32_t group_session_flush_ms = 250;
  uint32_t session_write_delay_ms = 0;  // 0: sessions written with their batch
  std::string aes_key;                  // exactly 32 bytes
  std::string audio_preview;  // "[语音]" encrypted with aes_key, shown for audio messages
};

// Reads and checks the module's config keys. Init only.
// Returns the config, or DBP_E_CONFIG naming the key and what it must be.
sdk::Result<Config> LoadConfig(sdk::Host& host);

}  // namespace dbproxy::plugins::session
