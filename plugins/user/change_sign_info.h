#pragma once

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::user {

// CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST 0x0213 -> 0x0214 (SID_BUDDY_LIST), spec H09.
// sign_info longer than 128 bytes -> result 1 (no write). Otherwise a prepared UPDATE of
// sign_info and updated on teamtalk_master (W2): result 0 when the user's row matched, even
// if the value did not change (W36), then the change marker is written; result 1 for an
// unknown user or a storage error. sign_info is echoed only with result 0.
// Thread: any worker, concurrently; no shared state.
class ChangeSignInfo {
 public:
  explicit ChangeSignInfo(const sdk::Host& host) : host_(host) {}
  ChangeSignInfo(const ChangeSignInfo&) = delete;
  ChangeSignInfo& operator=(const ChangeSignInfo&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::user
