#pragma once

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::push {

// CID_LOGIN_REQ_QUERY_PUSH_SHIELD 0x010e -> CID_LOGIN_RES_QUERY_PUSH_SHIELD 0x010f
// (SID_LOGIN), spec H03. Reads IMUser.push_shield_status on teamtalk_slave: result 0 with
// shield_status when the user exists; result 1 without it for an unknown user, a body that
// does not parse or a storage error.
// Thread: any worker, concurrently; no shared state.
class QueryPushShield {
 public:
  explicit QueryPushShield(const sdk::Host& host) : host_(host) {}
  QueryPushShield(const QueryPushShield&) = delete;
  QueryPushShield& operator=(const QueryPushShield&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::push
