#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::login {

// The IMUser columns a login needs. SQL NULL reads as "" / 0.
struct UserRow {
  uint32_t id = 0;
  uint32_t sex = 0;
  uint32_t depart_id = 0;
  std::string name;  // login name, sent back as user_real_name
  std::string nick;
  std::string avatar;
  std::string email;
  std::string phone;
  std::string domain;
  std::string sign_info;
  std::string password;  // md5(md5(plain) + salt), lowercase hex
  std::string salt;
};

// Finds the active user (status = 0) with this login name on teamtalk_slave, by a
// prepared statement (W1). IMUser.name is not unique: of several active rows the one with
// the highest id is taken, so the choice is stable (TeamTalk took the last row returned).
// Returns the row, nullopt if there is none, or the pool / statement error.
// Thread: any worker.
sdk::Result<std::optional<UserRow>> FindActiveUser(const sdk::Host& host, std::string_view name);

}  // namespace dbproxy::plugins::login
