#pragma once

// The preview text clients show for an audio message: "[语音]" encrypted the way TeamTalk
// clients decrypt message bodies (spec §6.6): AES-256-ECB with the 32-byte configured key,
// plaintext zero-padded to whole blocks with its length as big-endian u32 in the last four
// bytes (one extra block when len % 16 == 0 or > 12), then standard base64.
// Link OpenSSL::Crypto. Pure functions; any thread.

#include <cstdint>
#include <string>
#include <string_view>

#include <openssl/evp.h>

namespace dbproxy::plugins::audio_text {

inline constexpr std::string_view kAudioPlaceholder = "[\xe8\xaf\xad\xe9\x9f\xb3]";  // [语音]

// Returns "" if the key is not 32 bytes or encryption fails.
inline std::string EncryptForClients(std::string_view key, std::string_view plain) {
  if (key.size() != 32) {
    return "";
  }
  size_t blocks = (plain.size() + 15) / 16;
  size_t rem = plain.size() % 16;
  if (rem == 0 || rem > 12) {
    ++blocks;
  }
  std::string buf(blocks * 16, '\0');
  buf.replace(0, plain.size(), plain);
  uint32_t n = static_cast<uint32_t>(plain.size());
  buf[buf.size() - 4] = static_cast<char>(n >> 24);
  buf[buf.size() - 3] = static_cast<char>(n >> 16);
  buf[buf.size() - 2] = static_cast<char>(n >> 8);
  buf[buf.size() - 1] = static_cast<char>(n);

  std::string cipher(buf.size(), '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) {
    return "";
  }
  int out_len = 0;
  bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), nullptr,
                               reinterpret_cast<const unsigned char*>(key.data()), nullptr) == 1 &&
            EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
            EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(cipher.data()), &out_len,
                              reinterpret_cast<const unsigned char*>(buf.data()),
                              static_cast<int>(buf.size())) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok || static_cast<size_t>(out_len) != buf.size()) {
    return "";
  }

  std::string b64(4 * ((cipher.size() + 2) / 3) + 1, '\0');
  int b64_len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(cipher.data()),
                                static_cast<int>(cipher.size()));
  b64.resize(static_cast<size_t>(b64_len));
  return b64;
}

}  // namespace dbproxy::plugins::audio_text
