#include "plugins/session/config.h"

#include "plugins/common/audio_text.h"

namespace dbproxy::plugins::session {
namespace {

sdk::Result<int64_t> ReadInt(sdk::Host& host, const char* key, int64_t def, int64_t min,
                             int64_t max) {
  auto v = host.ConfigInt(key, def);
  if (!v.ok()) {
    return v.status();
  }
  if (*v < min || *v > max) {
    return sdk::Status(DBP_E_CONFIG, sdk::StrCat("session.", key, " must be between ", min, " and ",
                                                 max, ", got ", *v));
  }
  return *v;
}

}  // namespace

sdk::Result<Config> LoadConfig(sdk::Host& host) {
  Config c;
  auto sessions = ReadInt(host, "max_sessions", 100, 1, 1000);
  if (!sessions.ok()) {
    return sessions.status();
  }
  auto flush = ReadInt(host, "group_session_flush_ms", 250, 10, 60000);
  if (!flush.ok()) {
    return flush.status();
  }
  auto delay = ReadInt(host, "session_write_delay_ms", 0, 0, 5000);
  if (!delay.ok()) {
    return delay.status();
  }
  auto key = host.ConfigString("aes_key", "12345678901234567890123456789012");
  if (!key.ok()) {
    return key.status();
  }
  if (key->size() != 32) {
    return sdk::Status(DBP_E_CONFIG,
                       sdk::StrCat("session.aes_key must be exactly 32 bytes, got ", key->size()));
  }
  c.max_sessions = static_cast<uint32_t>(*sessions);
  c.group_session_flush_ms = static_cast<uint32_t>(*flush);
  c.session_write_delay_ms = static_cast<uint32_t>(*delay);
  c.aes_key = *key;
  c.audio_preview = audio_text::EncryptForClients(c.aes_key, audio_text::kAudioPlaceholder);
  if (c.audio_preview.empty()) {
    return sdk::Status(DBP_E_INTERNAL, "session: cannot encrypt the audio preview (OpenSSL)");
  }
  return c;
}

}  // namespace dbproxy::plugins::session
