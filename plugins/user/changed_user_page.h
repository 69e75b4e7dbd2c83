#pragma once

// One answer of CID_BUDDY_LIST_ALL_USER_REQUEST (0x0208): which users go into it and which
// latest_update_time lets the client continue. Paging contract (README.md, "Paging"):
//
//  * Everything that matches fits (at most max_users and max_bytes): all of it, and
//    latest_update_time = the largest `updated` sent (the request's value if none).
//  * Otherwise the answer holds every matching user with updated < V, where V is the
//    `updated` of the (n+1)-th matching user in `updated` order and n is what fits; the
//    answer's latest_update_time is V. The next request (updated >= V, inclusive) starts
//    exactly where this one stopped, so nothing is lost and nothing is sent twice.
//  * If more users than fit share the oldest `updated` second V, no timestamp can split
//    them: the answer holds the first ones of that second (by id) and latest_update_time
//    V + 1, so the client still moves on; the rest of that second is skipped for this client
//    (warned and counted as `all_user_second_split`).
//
// Users are read in bounded batches (keyset pagination by id), never as one result set.

#include <cstddef>
#include <cstdint>

#include "IM.BaseDefine.pb.h"
#include "dbproxy/sdk/mysql.h"
#include "plugins/user/user_store.h"

namespace dbproxy::plugins::user {

struct PageLimits {
  size_t max_users = 20000;
  size_t max_bytes = 1048560;  // bytes the user list may take in the serialized answer
  size_t batch_size = 1000;
};

struct Page {
  uint32_t latest_update_time = 0;
  bool second_split = false;  // the third case above happened
};

// Fills out (cleared first) with one page of the users matching filter and returns the
// latest_update_time to answer. request_time is the client's latest_update_time.
// Thread: any worker; conn is held by the caller.
sdk::Result<Page> BuildChangedUserPage(
    sdk::MysqlConn& conn, const ChangeFilter& filter, uint32_t request_time,
    const PageLimits& limits, google::protobuf::RepeatedPtrField<IM::BaseDefine::UserInfo>* out);

}  // namespace dbproxy::plugins::user
