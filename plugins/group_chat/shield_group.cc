#include "plugins/group_chat/shield_group.h"

#include "IM.Group.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/membership.h"
#include "plugins/group_chat/group_settings.h"

namespace dbproxy::plugins::group_chat {

void HandleShieldGroup(const sdk::Host& host, const Config&, sdk::Request& request) {
  std::string_view body = request.body();
  IM::Group::IMGroupShieldReq req;
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));
  IM::Group::IMGroupShieldRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_group_id(req.group_id());
  rsp.set_result_code(1);
  rsp.set_attach_data(req.attach_data());

  if (!parsed) {
    host.Warn("cmd=0x0409 seq=", request.seq(), ": body does not parse");
    host.Count("bad_request");
  } else if (req.user_id() == 0) {
    // 0 asks the membership service for everyone; it is never a member itself.
    host.Count("shield_refused");
  } else {
    membership::Answer member = membership::Query(host, req.group_id(), req.user_id());
    if (member.status == membership::Lookup::kError) {
      host.Warn("cmd=0x0409 seq=", request.seq(), " group=", req.group_id(),
                ": membership service failed");
      host.Count("membership_failed");
    } else if (member.status != membership::Lookup::kOk || member.members.empty()) {
      host.Debug("cmd=0x0409 seq=", request.seq(), " user=", req.user_id(),
                 " group=", req.group_id(), ": unknown group or not a member");
      host.Count("shield_refused");
    } else {
      sdk::Status s =
          GroupSettings(host).SetPushShield(req.group_id(), req.user_id(), req.shield_status());
      if (s.ok()) {
        rsp.set_result_code(0);
      } else {
        host.Warn("cmd=0x0409 seq=", request.seq(), " group=", req.group_id(), ": ", s.message());
        host.Count("storage_failed");
      }
    }
  }
  (void)request.ReplyMessage(sid::kGroup, cid::kGroupShieldRsp, rsp);
}

}  // namespace dbproxy::plugins::group_chat
