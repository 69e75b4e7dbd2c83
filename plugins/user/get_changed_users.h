#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/user/config.h"

namespace dbproxy::plugins::user {

// CID_BUDDY_LIST_ALL_USER_REQUEST 0x0208 -> 0x0209 (SID_BUDDY_LIST), spec H07, with the
// "users changed" marker taken from MySQL (MAX(IMUser.updated)) instead of process memory
// (W18/W19): a row edited directly in MySQL with a newer `updated` shows up in the next
// answer. latest_update_time 0 asks for every user whose status is not 3; otherwise for
// users with updated >= latest_update_time (inclusive, like TeamTalk). Large directories are
// read in batches and paged as changed_user_page.h describes. Storage errors and bodies that
// do not parse answer an empty list with the request's latest_update_time.
// Thread: any worker, concurrently; no shared state.
class GetChangedUsers {
 public:
  GetChangedUsers(const sdk::Host& host, const Config& config) : host_(host), config_(config) {}
  GetChangedUsers(const GetChangedUsers&) = delete;
  GetChangedUsers& operator=(const GetChangedUsers&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
  Config config_;
};

}  // namespace dbproxy::plugins::user
