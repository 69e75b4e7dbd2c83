#pragma once

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::push {

// CID_LOGIN_REQ_DEVICETOKEN 0x0108 -> CID_LOGIN_RES_DEVICETOKEN 0x0109 (SID_LOGIN), spec
// H16. Stores "ios:<token>" / "android:<token>" / the raw token (other or absent
// client_type) in device_<uid> and the reverse map device_<token> = uid, after clearing the
// reverse map of the user's previous token (only while it still names this user).
// Logout form (device_token ""): device_<uid> becomes "" and no reverse map is written, so
// the junk key `device_` TeamTalk created is never made. Always answers {user_id,
// attach_data}, also when the body does not parse or Redis fails (warned and counted).
// Thread: any worker, concurrently.
class SetDeviceToken {
 public:
  explicit SetDeviceToken(const sdk::Host& host) : host_(host) {}
  SetDeviceToken(const SetDeviceToken&) = delete;
  SetDeviceToken& operator=(const SetDeviceToken&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::push
