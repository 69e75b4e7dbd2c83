#include "plugins/login/user_lookup.h"

#include "plugins/common/key_format.h"

namespace dbproxy::plugins::login {

sdk::Result<std::optional<UserRow>> FindActiveUser(const sdk::Host& host, std::string_view name) {
  auto conn = host.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    return conn.status();
  }
  auto rows = conn->Execute(
      "SELECT id, sex, departId, name, nick, avatar, email, phone, domain, sign_info, password, "
      "salt FROM IMUser WHERE name = ? AND status = 0 ORDER BY id DESC LIMIT 1",
      {name});
  if (!rows.ok()) {
    return rows.status();
  }
  if (rows->rows() == 0) {
    return std::optional<UserRow>();
  }
  UserRow u;
  u.id = static_cast<uint32_t>(rows->Uint(0, 0));
  u.sex = static_cast<uint32_t>(rows->Uint(0, 1));
  u.depart_id = static_cast<uint32_t>(rows->Uint(0, 2));
  u.name = rows->Text(0, 3);
  u.nick = rows->Text(0, 4);
  u.avatar = rows->Text(0, 5);
  u.email = rows->Text(0, 6);
  u.phone = rows->Text(0, 7);
  u.domain = rows->Text(0, 8);
  u.sign_info = rows->Text(0, 9);
  u.password = rows->Text(0, 10);
  u.salt = rows->Text(0, 11);
  return std::optional<UserRow>(std::move(u));
}

}  // namespace dbproxy::plugins::login
