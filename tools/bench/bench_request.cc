#include "tools/bench/bench_request.h"

namespace dbproxy::bench {

const char* RequestKindName(RequestKind kind) {
  switch (kind) {
    case RequestKind::kLogin:
      return "login";
    case RequestKind::kSendSingle:
      return "send_single";
    case RequestKind::kSendGroup:
      return "send_group";
    case RequestKind::kUnread:
      return "unread";
    case RequestKind::kMsgList:
      return "msg_list";
    case RequestKind::kRecentSession:
      return "recent_session";
  }
  return "unknown";
}

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kPrepare:
      return "prepare";
    case Phase::kWarmup:
      return "warmup";
    case Phase::kMeasure:
      return "measure";
  }
  return "unknown";
}

const char* FailureName(Failure failure) {
  switch (failure) {
    case Failure::kNone:
      return "none";
    case Failure::kMsgIdZero:
      return "msg_id_zero";
    case Failure::kResultCode:
      return "result_code";
    case Failure::kTimeout:
      return "timeout";
    case Failure::kMissingReply:
      return "missing_reply";
    case Failure::kUnparsable:
      return "unparsable";
    case Failure::kBadReply:
      return "bad_reply";
  }
  return "unknown";
}

}  // namespace dbproxy::bench
