#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/user/config.h"

namespace dbproxy::plugins::user {

// CID_BUDDY_LIST_DEPARTMENT_REQUEST 0x0210 -> 0x0211 (SID_BUDDY_LIST), spec H08.
// Departments with updated > latest_update_time (strict, like TeamTalk), in (updated, id)
// order; rows whose status is neither 0 nor 1 are skipped but still raise the answer's
// latest_update_time, which is the largest `updated` read (the request's value if none).
// At most max_departments_per_response rows: a larger change set ends the answer before the
// first second it cannot send whole and answers latest_update_time = that second - 1, so the
// next request continues there. Errors answer an empty list with the request's time.
// Thread: any worker, concurrently; no shared state.
class GetDepartments {
 public:
  GetDepartments(const sdk::Host& host, const Config& config) : host_(host), config_(config) {}
  GetDepartments(const GetDepartments&) = delete;
  GetDepartments& operator=(const GetDepartments&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
  Config config_;
};

}  // namespace dbproxy::plugins::user
