#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/user/config.h"

namespace dbproxy::plugins::user {

// CID_BUDDY_LIST_USER_INFO_REQUEST 0x0204 -> 0x0205 (SID_BUDDY_LIST), spec H06.
// Answers the UserInfo of every requested id that exists (any status; status = the column
// value), ascending by id, with user_id and attach_data echoed. Ids are de-duplicated and
// capped at max_users_per_request; the list stops early at max_response_bytes. A body that
// does not parse or a storage error answers an empty list.
// Thread: any worker, concurrently; no shared state.
class GetUsersInfo {
 public:
  GetUsersInfo(const sdk::Host& host, const Config& config) : host_(host), config_(config) {}
  GetUsersInfo(const GetUsersInfo&) = delete;
  GetUsersInfo& operator=(const GetUsersInfo&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
  Config config_;
};

}  // namespace dbproxy::plugins::user
