#pragma once

// Device tokens in the Redis `token` instance, in TeamTalk's format (spec §5.2):
//   device_<uid>    "ios:<token>", "android:<token>", the raw token (other client types),
//                   or "" after a logout
//   device_<token>  "<uid>" (reverse map, keyed by the raw token)
// Every command is argv-style, so tokens are binary-safe.
// Thread: any worker.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::push {

enum class DeviceKind { kIos, kAndroid, kOther };

struct DeviceToken {
  DeviceKind kind = DeviceKind::kOther;
  std::string token;
};

// The value stored in device_<uid> for a token of a client type (IM.BaseDefine.ClientType;
// nullopt when the request carried none).
std::string StoredValue(std::optional<uint32_t> client_type, std::string_view token);

// Splits a device_<uid> value: "ios:" / "android:" prefixes name the kind; anything else is
// kOther with the whole value as the token.
DeviceToken ParseStoredValue(std::string_view value);

// Records the token of a user. Clears the reverse map of the user's previous token, but only
// while it still names this user (another account may have taken the device since). An
// empty token (the logout form) sets device_<uid> to "" and writes no reverse map.
sdk::Status SaveDeviceToken(const sdk::Host& host, uint32_t user_id, std::string_view value,
                            std::string_view token);

// MGET device_<uid> for every user, in order; nullopt where the key is missing or not a
// string. Runs in chunks of 1000 keys.
sdk::Result<std::vector<std::optional<std::string>>> LoadDeviceTokens(
    const sdk::Host& host, const std::vector<uint32_t>& users);

}  // namespace dbproxy::plugins::push
