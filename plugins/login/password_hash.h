#pragma once

#include <string>
#include <string_view>

namespace dbproxy::plugins::login {

// md5 of data as 32 lowercase hex characters (OpenSSL EVP). "" if OpenSSL fails.
// Pure function; any thread.
std::string Md5HexLower(std::string_view data);

// TeamTalk's password check (spec H01 step 5): md5_hex_lower(sent + salt) == stored, where
// sent is the client's md5 of the plain password. Compares in constant time.
// False if stored is empty (no such user) or hashing fails.
bool PasswordMatches(std::string_view sent, std::string_view salt, std::string_view stored);

}  // namespace dbproxy::plugins::login
