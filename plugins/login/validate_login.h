#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/login/config.h"
#include "plugins/login/login_limiter.h"

namespace dbproxy::plugins::login {

// CID_OTHER_VALIDATE_REQ 0x0703 -> CID_OTHER_VALIDATE_RSP 0x0704 (SID_OTHER), spec H01.
// Always answers, with user_name and attach_data echoed:
//   0 "成功"                      password matches an active user; user_info from the row
//                                 with status 0; the name's failures are forgotten
//   1 "用户名/密码错误"            no such active user or wrong password (counted)
//   6 "用户名/密码错误次数太多"    too many recent failures of this name (no DB access)
//   2 "服务端内部错误"            body does not parse (user_name as far as readable) or
//                                 MySQL unavailable (not counted as a failure)
// Thread: any worker, concurrently; the limiter is the only shared state.
class ValidateLogin {
 public:
  ValidateLogin(const sdk::Host& host, const Config& config)
      : host_(host), limiter_(config.limiter) {}
  ValidateLogin(const ValidateLogin&) = delete;
  ValidateLogin& operator=(const ValidateLogin&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
  LoginLimiter limiter_;
};

}  // namespace dbproxy::plugins::login
