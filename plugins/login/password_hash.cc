#include "plugins/login/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace dbproxy::plugins::login {

std::string Md5HexLower(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr) != 1) {
    return "";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0f]);
  }
  return out;
}

bool PasswordMatches(std::string_view sent, std::string_view salt, std::string_view stored) {
  std::string input;
  input.reserve(sent.size() + salt.size());
  input.append(sent).append(salt);
  std::string computed = Md5HexLower(input);
  if (stored.empty() || computed.size() != stored.size()) {
    return false;
  }
  return CRYPTO_memcmp(computed.data(), stored.data(), computed.size()) == 0;
}

}  // namespace dbproxy::plugins::login
