#include "plugins/audio/config.h"

namespace dbproxy::plugins::audio {
namespace {

sdk::Result<int64_t> ReadInt(sdk::Host& host, const char* key, int64_t def, int64_t min,
                             int64_t max) {
  auto v = host.ConfigInt(key, def);
  if (!v.ok()) {
    return v.status();
  }
  if (*v < min || *v > max) {
    return sdk::Status(DBP_E_CONFIG, sdk::StrCat("audio.", key, " must be between ", min, " and ",
                                                 max, ", got ", *v));
  }
  return *v;
}

}  // namespace

sdk::Result<Config> LoadConfig(sdk::Host& host) {
  Config c;
  auto url = host.ConfigString("msfs_url", "");
  if (!url.ok()) {
    return url.status();
  }
  if (!url->empty() && url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
    return sdk::Status(DBP_E_CONFIG,
                       "audio.msfs_url must start with http:// or https://, got '" + *url + "'");
  }
  c.msfs_url = *url;
  struct Key {
    const char* name;
    int64_t def;
    int64_t min;
    int64_t max;
  };
  const Key keys[] = {
      {"connect_timeout_ms", 1000, 1, 60000},
      {"timeout_ms", 3000, 1, 600000},
      {"max_audio_bytes", 4 * 1024 * 1024, 1, 256 * 1024 * 1024},
      {"max_load_ids", 200, 1, 1024},
      {"max_parallel_downloads", 16, 1, 256},
  };
  int64_t values[5] = {};
  for (size_t i = 0; i < 5; ++i) {
    auto v = ReadInt(host, keys[i].name, keys[i].def, keys[i].min, keys[i].max);
    if (!v.ok()) {
      return v.status();
    }
    values[i] = *v;
  }
  c.connect_timeout_ms = values[0];
  c.timeout_ms = values[1];
  c.max_audio_bytes = static_cast<size_t>(values[2]);
  c.max_load_ids = static_cast<size_t>(values[3]);
  c.max_parallel_downloads = static_cast<size_t>(values[4]);
  return c;
}

}  // namespace dbproxy::plugins::audio
