#include "plugins/unread/config.h"

#include "plugins/common/audio_text.h"

namespace dbproxy::plugins::unread {

sdk::Result<Config> LoadConfig(sdk::Host& host) {
  Config c;
  auto key = host.ConfigString("aes_key", "12345678901234567890123456789012");
  if (!key.ok()) {
    return key.status();
  }
  if (key->size() != 32) {
    return sdk::Status(DBP_E_CONFIG,
                       sdk::StrCat("unread.aes_key must be exactly 32 bytes, got ", key->size()));
  }
  c.aes_key = *key;
  c.audio_preview = audio_text::EncryptForClients(c.aes_key, audio_text::kAudioPlaceholder);
  if (c.audio_preview.empty()) {
    return sdk::Status(DBP_E_INTERNAL, "unread: cannot encrypt the audio preview (OpenSSL)");
  }
  auto groups = host.ConfigInt("max_groups", 1000);
  if (!groups.ok()) {
    return groups.status();
  }
  if (*groups < 1 || *groups > 100000) {
    return sdk::Status(DBP_E_CONFIG, sdk::StrCat("unread.max_groups must be between 1 and "
                                                 "100000, got ",
                                                 *groups));
  }
  c.max_groups = static_cast<uint32_t>(*groups);
  auto interval = host.ConfigInt("repair_interval_ms", 1000);
  if (!interval.ok()) {
    return interval.status();
  }
  if (*interval < 10 || *interval > 600000) {
    return sdk::Status(DBP_E_CONFIG, sdk::StrCat("unread.repair_interval_ms must be between 10 "
                                                 "and 600000, got ",
                                                 *interval));
  }
  c.repair_interval_ms = static_cast<uint32_t>(*interval);
  return c;
}

}  // namespace dbproxy::plugins::unread
