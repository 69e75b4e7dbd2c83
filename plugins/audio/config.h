#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::audio {

// The settings of plugins.modules.audio (see config_schema.yaml). A plain value.
struct Config {
  std::string msfs_url;  // upload URL, used verbatim (W37); "" = audio disabled
  int64_t connect_timeout_ms = 1000;
  int64_t timeout_ms = 3000;                 // one upload; all downloads of one load together
  size_t max_audio_bytes = 4 * 1024 * 1024;  // audio bytes of one message (without duration)
  size_t max_load_ids = 200;                 // audio ids expanded per load call
  size_t max_parallel_downloads = 16;
};

// Reads and checks the module's config keys. Init only.
sdk::Result<Config> LoadConfig(sdk::Host& host);

}  // namespace dbproxy::plugins::audio
