#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/push/config.h"

namespace dbproxy::plugins::push {

// CID_OTHER_GET_DEVICE_TOKEN_REQ 0x0705 -> CID_OTHER_GET_DEVICE_TOKEN_RSP 0x0706 (SID_OTHER),
// spec H17. For the requested users (de-duplicated, capped at max_users_per_request, in
// request order) whose device_<uid> holds "ios:<token>" or "android:<token>" with a
// non-empty token: UserTokenInfo {user_id, user_type 0x11 / 0x12, token, push_count, push_type
// 1}. During quiet hours iOS users with IMUser.push_shield_status = 1 are left out (one IN
// query for all of them). attach_data (msg_server's IMMsgData) is echoed byte-exact. Redis
// or MySQL trouble answers what could be read (warned and counted); never silence.
// Thread: any worker, concurrently.
class GetDeviceTokens {
 public:
  GetDeviceTokens(const sdk::Host& host, const Config& config) : host_(host), config_(config) {}
  GetDeviceTokens(const GetDeviceTokens&) = delete;
  GetDeviceTokens& operator=(const GetDeviceTokens&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
  Config config_;
};

}  // namespace dbproxy::plugins::push
