#pragma once

// The order key of CID_GROUP_CHANGE_MEMBER_REQUEST (dbp_order_key_fn): requests with the same
// key run one at a time, in arrival order. The key is a hash of ('M', group_id), so the
// changes of one group are serialised while other groups proceed in parallel.

#include <cstddef>
#include <cstdint>

namespace dbproxy::plugins::group_member {

// Reads group_id (field 3) straight from the protobuf wire format of an
// IMGroupChangeMemberReq body. Returns a non-zero key, or 0 (unordered) when the body has no
// readable group_id; a malformed body is answered by the handler anyway.
// Thread: the loop thread; allocates nothing and never blocks.
uint64_t ChangeMemberOrderKey(const uint8_t* body, size_t len, void* user);

}  // namespace dbproxy::plugins::group_member
