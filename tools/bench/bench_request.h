#pragma once

// What the bench sends: the command ids it uses, the kinds of request, and one request ready
// to be framed. request_builder writes the bodies, reply_checker reads the answers.
// The ids are repeated here (not taken from plugins/) so the bench stays independent.

#include <cstdint>
#include <string>

namespace dbproxy::bench {

namespace sid {
inline constexpr uint16_t kBuddyList = 0x0002;
inline constexpr uint16_t kMsg = 0x0003;
inline constexpr uint16_t kOther = 0x0007;
}  // namespace sid

namespace cid {
inline constexpr uint16_t kRecentSessionReq = 0x0201;
inline constexpr uint16_t kRecentSessionRsp = 0x0202;
inline constexpr uint16_t kMsgData = 0x0301;  // the reply uses the same id
inline constexpr uint16_t kUnreadCntReq = 0x0307;
inline constexpr uint16_t kUnreadCntRsp = 0x0308;
inline constexpr uint16_t kMsgListReq = 0x0309;
inline constexpr uint16_t kMsgListRsp = 0x030a;
inline constexpr uint16_t kHeartbeat = 0x0701;
inline constexpr uint16_t kStopReceive = 0x0702;
inline constexpr uint16_t kValidateReq = 0x0703;
inline constexpr uint16_t kValidateRsp = 0x0704;
}  // namespace cid

// One kind per request shape; the kind alone decides the reply command and its checker.
enum class RequestKind : uint8_t {
  kLogin,          // 0x0703 user<N> / md5("123456")
  kSendSingle,     // 0x0301 single text
  kSendGroup,      // 0x0301 group text
  kUnread,         // 0x0307
  kMsgList,        // 0x0309 single session
  kRecentSession,  // 0x0201
};
inline constexpr int kRequestKindCount = 6;

const char* RequestKindName(RequestKind kind);

// The part of a run a request belongs to. Only kMeasure requests make the headline numbers.
enum class Phase : uint8_t { kPrepare, kWarmup, kMeasure };
inline constexpr int kPhaseCount = 3;

const char* PhaseName(Phase phase);

// The parameters of one request. The reply checker sees the same struct, so everything it
// compares against (echoed ids, the attach data) is derived from these fields.
struct RequestParams {
  RequestKind kind = RequestKind::kUnread;
  uint32_t user_id = 0;  // sender, requester or login user
  uint32_t peer_id = 0;  // receiver user or group id, message-list peer; 0 if unused
};

// How a request ended, when it did not end well. kNone is a good reply.
enum class Failure : uint8_t {
  kNone,
  kMsgIdZero,     // 0x0301 answered with msg_id = 0 (msg_server drops such messages)
  kResultCode,    // a result_code other than 0
  kTimeout,       // no reply within --timeout-ms
  kMissingReply,  // the connection closed while the request was in flight
  kUnparsable,    // the body does not parse as the reply message (required fields missing)
  kBadReply,      // wrong reply command, or echoed ids / attach data differ from the request
};
inline constexpr int kFailureCount = 7;

// Snake-case name used in reports: "msg_id_zero", "timeout", ...
const char* FailureName(Failure failure);

// A request ready to be framed: service, command, body, and what the reply must be.
struct RequestSpec {
  RequestParams params;
  Phase phase = Phase::kMeasure;
  uint16_t service_id = 0;
  uint16_t command_id = 0;
  uint16_t reply_command_id = 0;
  std::string body;
};

}  // namespace dbproxy::bench
