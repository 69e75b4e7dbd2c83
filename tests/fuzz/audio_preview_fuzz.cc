// libFuzzer target: the audio preview text (AES-256-ECB + length trailer + base64, spec
// §6.6). The first byte picks how much of the rest is the key, the rest is the plaintext.
// A 32-byte key must give base64 that decodes and decrypts back to the plaintext, its
// length in the last four bytes and zero padding; any other key must give "".

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "plugins/common/audio_text.h"

namespace {

void Check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

// How a client reads the preview: base64 -> AES-256-ECB decrypt without padding.
std::string ClientDecrypt(std::string_view key, const std::string& b64) {
  std::string cipher(b64.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(cipher.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  Check(n >= 0 && n % 3 == 0);
  cipher.resize(static_cast<size_t>(n));
  // EVP_DecodeBlock keeps the bytes the '=' padding stands for; whole blocks only.
  cipher.resize(cipher.size() / 16 * 16);
  std::string plain(cipher.size(), '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Check(ctx != nullptr);
  int len = 0;
  Check(EVP_DecryptInit_ex(ctx, EVP_aes_256_ecb(), nullptr,
                           reinterpret_cast<const unsigned char*>(key.data()), nullptr) == 1);
  Check(EVP_CIPHER_CTX_set_padding(ctx, 0) == 1);
  Check(EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &len,
                          reinterpret_cast<const unsigned char*>(cipher.data()),
                          static_cast<int>(cipher.size())) == 1);
  EVP_CIPHER_CTX_free(ctx);
  plain.resize(static_cast<size_t>(len));
  return plain;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 4096) {
    return 0;
  }
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  // Mostly the real key length, sometimes any other length.
  const size_t key_len = (data[0] & 0x80) != 0 ? data[0] % 40 : 32;
  if (key_len > rest.size()) {
    return 0;
  }
  const std::string_view key = rest.substr(0, key_len);
  const std::string_view plain = rest.substr(key_len);
  const std::string b64 = dbproxy::plugins::audio_text::EncryptForClients(key, plain);
  if (key.size() != 32) {
    Check(b64.empty());
    return 0;
  }
  Check(!b64.empty());
  const std::string clear = ClientDecrypt(key, b64);
  Check(clear.size() % 16 == 0 && clear.size() >= plain.size() + 4);
  Check(clear.compare(0, plain.size(), plain) == 0);
  const size_t t = clear.size() - 4;
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(clear[i])); };
  Check(((u(t) << 24) | (u(t + 1) << 16) | (u(t + 2) << 8) | u(t + 3)) == plain.size());
  for (size_t i = plain.size(); i < t; ++i) {
    Check(clear[i] == '\0');
  }
  return 0;
}
