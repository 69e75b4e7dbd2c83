#pragma once

// Every command of the TeamTalk db_proxy wire contract (spec §2.1, plus 0x020c) as data the
// fault suites iterate over: which module serves it, its ids, its request and response
// messages, a request that succeeds on the demo data, and what its failure answer and its
// success answer look like. Plain values; any thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/message_lite.h>

namespace dbproxy::testing::fault {

using google::protobuf::MessageLite;

struct CommandCase {
  std::string_view module;  // the plugin that serves it ("message")
  uint16_t service_id = 0;  // of the request and of the response
  uint16_t request_cmd = 0;
  uint16_t response_cmd = 0;  // 0: the protocol has no response
  std::function<std::unique_ptr<MessageLite>()> new_request;
  std::function<std::unique_ptr<MessageLite>()> new_response;  // null without a response

  // A request that succeeds on the demo data when the cases before it in Catalog() order
  // ran first (a send before the message list, a token before the token query). round makes
  // bodies of write commands distinct; the caller never repeats one in a process.
  std::function<std::string(int round)> valid_body;

  // "" if a parsed response carries the command's failure value (result_code != 0,
  // msg_id 0, an empty list); else what it shows instead. Null where the protocol has no
  // failure value (0x0108 answers user_id and attach_data only).
  std::function<std::string(const MessageLite& response)> failure_problem;

  // "" if a parsed response to valid_body(round) is the expected success.
  std::function<std::string(const MessageLite& response, int round)> success_problem;

  // What it cannot answer without, so that cutting it must produce the failure value.
  bool needs_mysql = false;
  bool needs_redis = false;

  std::string name() const;  // "0x0301 (message)"
};

// Every command, in the order a round of valid requests must run. 0x0303, 0x050b and
// 0x050c have no response.
const std::vector<CommandCase>& Catalog();

// The modules Catalog() needs, each once.
std::vector<std::string> CatalogModules();

// The demo users' password as the client sends it: md5_hex("123456").
inline constexpr std::string_view kClientPassword = "e10adc3949ba59abbe56e057f20f883e";

// Users and conversation the valid requests use.
inline constexpr uint32_t kSender = 1;    // sends to kReceiver; creator of groups 1-4
inline constexpr uint32_t kReceiver = 2;  // its unread counter and session
inline constexpr uint32_t kFileFrom = 11;
inline constexpr uint32_t kFileTo = 12;

}  // namespace dbproxy::testing::fault
