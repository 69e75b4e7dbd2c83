#include "tools/bench/reply_checker.h"

#include <string>

#include "IM.Buddy.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"
#include "tools/bench/request_builder.h"

namespace dbproxy::bench {
namespace {

uint16_t ExpectedReplyCommand(RequestKind kind) {
  switch (kind) {
    case RequestKind::kLogin:
      return cid::kValidateRsp;
    case RequestKind::kSendSingle:
    case RequestKind::kSendGroup:
      return cid::kMsgData;
    case RequestKind::kUnread:
      return cid::kUnreadCntRsp;
    case RequestKind::kMsgList:
      return cid::kMsgListRsp;
    case RequestKind::kRecentSession:
      return cid::kRecentSessionRsp;
  }
  return 0;
}

// ParsePartial + IsInitialized rather than ParseFromArray: same verdict (missing required
// fields fail), without protobuf logging one line per bad reply under load.
template <class Message>
bool Parse(std::string_view body, Message* message) {
  return message->ParsePartialFromArray(body.data(), static_cast<int>(body.size())) &&
         message->IsInitialized();
}

Verdict Bad() { return {Failure::kBadReply, 0}; }
Verdict Unparsable() { return {Failure::kUnparsable, 0}; }

Verdict CheckLogin(const RequestParams& request, std::string_view body) {
  IM::Server::IMValidateRsp rsp;
  if (!Parse(body, &rsp)) {
    return Unparsable();
  }
  if (rsp.user_name() != LoginName(request.user_id) ||
      rsp.attach_data() != AttachDataFor(request)) {
    return Bad();
  }
  if (rsp.result_code() != 0) {
    return {Failure::kResultCode, 0};
  }
  return {};
}

Verdict CheckSend(const RequestParams& request, std::string_view body) {
  IM::Message::IMMsgData rsp;
  if (!Parse(body, &rsp)) {
    return Unparsable();
  }
  if (rsp.from_user_id() != request.user_id || rsp.to_session_id() != request.peer_id ||
      rsp.attach_data() != AttachDataFor(request)) {
    return Bad();
  }
  if (rsp.msg_id() == 0) {
    return {Failure::kMsgIdZero, 0};
  }
  return {};
}

Verdict CheckUnread(const RequestParams& request, std::string_view body) {
  IM::Message::IMUnreadMsgCntRsp rsp;
  if (!Parse(body, &rsp)) {
    return Unparsable();
  }
  if (rsp.user_id() != request.user_id || rsp.attach_data() != AttachDataFor(request)) {
    return Bad();
  }
  return {Failure::kNone, static_cast<uint32_t>(rsp.unreadinfo_list_size())};
}

Verdict CheckMsgList(const RequestParams& request, std::string_view body) {
  IM::Message::IMGetMsgListRsp rsp;
  if (!Parse(body, &rsp)) {
    return Unparsable();
  }
  if (rsp.user_id() != request.user_id || rsp.session_id() != request.peer_id ||
      rsp.session_type() != IM::BaseDefine::SESSION_TYPE_SINGLE ||
      rsp.attach_data() != AttachDataFor(request)) {
    return Bad();
  }
  return {Failure::kNone, static_cast<uint32_t>(rsp.msg_list_size())};
}

Verdict CheckRecentSession(const RequestParams& request, std::string_view body) {
  IM::Buddy::IMRecentContactSessionRsp rsp;
  if (!Parse(body, &rsp)) {
    return Unparsable();
  }
  if (rsp.user_id() != request.user_id || rsp.attach_data() != AttachDataFor(request)) {
    return Bad();
  }
  return {Failure::kNone, static_cast<uint32_t>(rsp.contact_session_list_size())};
}

}  // namespace

Verdict CheckReply(const RequestParams& request, uint16_t reply_command_id, std::string_view body) {
  if (reply_command_id != ExpectedReplyCommand(request.kind)) {
    return Bad();
  }
  switch (request.kind) {
    case RequestKind::kLogin:
      return CheckLogin(request, body);
    case RequestKind::kSendSingle:
    case RequestKind::kSendGroup:
      return CheckSend(request, body);
    case RequestKind::kUnread:
      return CheckUnread(request, body);
    case RequestKind::kMsgList:
      return CheckMsgList(request, body);
    case RequestKind::kRecentSession:
      return CheckRecentSession(request, body);
  }
  return Bad();
}

}  // namespace dbproxy::bench
