#pragma once

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::push {

// CID_LOGIN_REQ_PUSH_SHIELD 0x010c -> CID_LOGIN_RES_PUSH_SHIELD 0x010d (SID_LOGIN), spec H02.
// shield_status must be 0 (off) or 1 (do not disturb), else result 1. A prepared UPDATE of
// push_shield_status and updated on teamtalk_master: result 0 when the user's row matched,
// also when the value did not change (W36), with shield_status echoed; result 1 (no
// shield_status) for an unknown user, a body that does not parse or a storage error.
// Thread: any worker, concurrently; no shared state.
class SetPushShield {
 public:
  explicit SetPushShield(const sdk::Host& host) : host_(host) {}
  SetPushShield(const SetPushShield&) = delete;
  SetPushShield& operator=(const SetPushShield&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::push
