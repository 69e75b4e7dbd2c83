#pragma once

// Writes the protobuf body and header fields of each request kind, shaped like msg_server's:
// attach_data carries a 12-byte CDbAttachData (type 1, handle, service type 0, spec §3.3).

#include <cstdint>
#include <string>

#include "tools/bench/bench_request.h"

namespace dbproxy::bench {

// md5_hex("123456"): what a TeamTalk client sends as the password of every demo user.
inline constexpr char kDemoPasswordMd5[] = "e10adc3949ba59abbe56e057f20f883e";

struct BuildSettings {
  uint32_t now_s = 0;        // create_time of messages (msg_server's clock)
  uint32_t msg_bytes = 32;   // length of msg_data in text messages
  uint32_t list_count = 20;  // msg_cnt of 0x0309
};

// The demo login name of a user id: "user<id>".
std::string LoginName(uint32_t user_id);

// The attach data the bench puts in a request and expects back byte-exact: type 1,
// handle = params.user_id, service type 0, each a big-endian uint32.
std::string AttachDataFor(const RequestParams& params);

// Fills out->service_id, command_id, reply_command_id and body from out->params.
void BuildRequest(const BuildSettings& settings, RequestSpec* out);

}  // namespace dbproxy::bench
