#pragma once

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::user {

// CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST 0x020c -> CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE
// 0x020d (SID_BUDDY_LIST). TeamTalk's db_proxy had no handler, so clients never got an
// answer (W35). avatar_url longer than 255 bytes -> result 1. Otherwise a prepared UPDATE of
// avatar and updated on teamtalk_master: result 0 when the user's row matched (same value
// again included, W36), then the change marker is written; result 1 for an unknown user or
// a storage error.
// Thread: any worker, concurrently; no shared state.
class ChangeAvatar {
 public:
  explicit ChangeAvatar(const sdk::Host& host) : host_(host) {}
  ChangeAvatar(const ChangeAvatar&) = delete;
  ChangeAvatar& operator=(const ChangeAvatar&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::user
