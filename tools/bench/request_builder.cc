#include "tools/bench/request_builder.h"

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"

namespace dbproxy::bench {
namespace {

void PutU32(uint32_t value, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

// Printable text of exactly `bytes` bytes; content is opaque to the server.
std::string MessageText(const RequestParams& params, uint32_t bytes) {
  std::string text =
      "bench " + std::to_string(params.user_id) + ">" + std::to_string(params.peer_id) + " ";
  text.resize(bytes, 'x');
  return text;
}

}  // namespace

std::string LoginName(uint32_t user_id) { return "user" + std::to_string(user_id); }

std::string AttachDataFor(const RequestParams& params) {
  std::string attach;
  PutU32(1, &attach);  // ATTACH_TYPE_HANDLE
  PutU32(params.user_id, &attach);
  PutU32(0, &attach);
  return attach;
}

void BuildRequest(const BuildSettings& settings, RequestSpec* out) {
  const RequestParams& params = out->params;
  out->body.clear();
  switch (params.kind) {
    case RequestKind::kLogin: {
      IM::Server::IMValidateReq req;
      req.set_user_name(LoginName(params.user_id));
      req.set_password(kDemoPasswordMd5);
      req.set_attach_data(AttachDataFor(params));
      req.SerializeToString(&out->body);
      out->service_id = sid::kOther;
      out->command_id = cid::kValidateReq;
      out->reply_command_id = cid::kValidateRsp;
      return;
    }
    case RequestKind::kSendSingle:
    case RequestKind::kSendGroup: {
      IM::Message::IMMsgData req;
      req.set_from_user_id(params.user_id);
      req.set_to_session_id(params.peer_id);
      req.set_msg_id(0);
      req.set_create_time(settings.now_s);
      req.set_msg_type(params.kind == RequestKind::kSendGroup
                           ? IM::BaseDefine::MSG_TYPE_GROUP_TEXT
                           : IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
      req.set_msg_data(MessageText(params, settings.msg_bytes));
      req.set_attach_data(AttachDataFor(params));
      req.SerializeToString(&out->body);
      out->service_id = sid::kMsg;
      out->command_id = cid::kMsgData;
      out->reply_command_id = cid::kMsgData;
      return;
    }
    case RequestKind::kUnread: {
      IM::Message::IMUnreadMsgCntReq req;
      req.set_user_id(params.user_id);
      req.set_attach_data(AttachDataFor(params));
      req.SerializeToString(&out->body);
      out->service_id = sid::kMsg;
      out->command_id = cid::kUnreadCntReq;
      out->reply_command_id = cid::kUnreadCntRsp;
      return;
    }
    case RequestKind::kMsgList: {
      IM::Message::IMGetMsgListReq req;
      req.set_user_id(params.user_id);
      req.set_session_type(IM::BaseDefine::SESSION_TYPE_SINGLE);
      req.set_session_id(params.peer_id);
      req.set_msg_id_begin(0);
      req.set_msg_cnt(settings.list_count);
      req.set_attach_data(AttachDataFor(params));
      req.SerializeToString(&out->body);
      out->service_id = sid::kMsg;
      out->command_id = cid::kMsgListReq;
      out->reply_command_id = cid::kMsgListRsp;
      return;
    }
    case RequestKind::kRecentSession: {
      IM::Buddy::IMRecentContactSessionReq req;
      req.set_user_id(params.user_id);
      req.set_latest_update_time(0);
      req.set_attach_data(AttachDataFor(params));
      req.SerializeToString(&out->body);
      out->service_id = sid::kBuddyList;
      out->command_id = cid::kRecentSessionReq;
      out->reply_command_id = cid::kRecentSessionRsp;
      return;
    }
  }
}

}  // namespace dbproxy::bench
