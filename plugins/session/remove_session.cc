#include "plugins/session/remove_session.h"

#include <cstdint>
#include <ctime>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/session/unread_reset.h"

namespace dbproxy::plugins::session {

void RemoveSession::Handle(sdk::Request& request) {
  IM::Buddy::IMRemoveSessionReq req;
  std::string_view body = request.body();
  bool parsed =
      req.ParsePartialFromArray(body.data(), static_cast<int>(body.size())) && req.IsInitialized();

  IM::Buddy::IMRemoveSessionRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_session_id(req.session_id());
  // An unset (or out-of-range, hence dropped) enum reads as its first value, SINGLE.
  rsp.set_session_type(req.session_type());
  rsp.set_result_code(1);
  rsp.set_attach_data(req.attach_data());
  auto answer = [&] {
    sdk::Status s = request.ReplyMessage(sid::kBuddyList, cid::kBuddyRemoveSessionRsp, rsp);
    if (!s.ok()) {
      host_.Warn("remove session reply failed: cmd=0x0206 seq=", request.seq(),
                 " user=", req.user_id(), ": ", s.message());
    }
  };
  if (!parsed) {
    host_.Warn("remove session: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer();
    return;
  }

  const auto type = static_cast<uint32_t>(req.session_type());
  writer_.FlushUser(req.user_id());
  auto removed = store_.Remove(req.user_id(), req.session_id(), type,
                               static_cast<uint32_t>(std::time(nullptr)));
  if (!removed.ok()) {
    host_.Warn("remove session user=", req.user_id(), " peer=", req.session_id(), " type=", type,
               " failed seq=", request.seq(), ": ", removed.status().message());
    host_.Count("storage_errors");
    answer();
    return;
  }
  if (*removed > 0) {
    rsp.set_result_code(0);
    sdk::Status s = ResetUnread(host_, req.user_id(), req.session_id(), type);
    if (!s.ok()) {
      host_.Warn("removed session user=", req.user_id(), " peer=", req.session_id(), " type=", type,
                 ": unread not cleared: ", s.message());
      host_.Count("unread_reset_errors");
    }
  }
  answer();
}

}  // namespace dbproxy::plugins::session
