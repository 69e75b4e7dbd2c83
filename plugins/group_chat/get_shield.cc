#include "plugins/group_chat/get_shield.h"

#include "IM.Server.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/membership.h"
#include "plugins/group_chat/group_settings.h"

namespace dbproxy::plugins::group_chat {

void HandleGetShield(const sdk::Host& host, const Config&, sdk::Request& request) {
  std::string_view body = request.body();
  IM::Server::IMGroupGetShieldReq req;
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));
  IM::Server::IMGroupGetShieldRsp rsp;
  rsp.set_group_id(req.group_id());
  rsp.set_attach_data(req.attach_data());
  auto reply = [&] {
    if (!request.ReplyMessage(sid::kOther, cid::kOtherGetShieldRsp, rsp).ok()) {
      // Too big for one frame (a huge user list): the empty list is the failure answer,
      // and an answer is due either way.
      host.Warn("cmd=0x0711 seq=", request.seq(), ": answer over the frame limit, sent empty");
      host.Count("answer_too_large");
      rsp.clear_shield_status_list();
      (void)request.ReplyMessage(sid::kOther, cid::kOtherGetShieldRsp, rsp);
    }
  };

  if (!parsed) {
    host.Warn("cmd=0x0711 seq=", request.seq(), ": body does not parse");
    host.Count("bad_request");
    return reply();
  }
  if (req.user_id_size() == 0) {
    return reply();
  }

  // Any user id answers whether the group exists; the first one asked is as good as any.
  membership::Answer group = membership::Query(host, req.group_id(), req.user_id(0));
  if (group.status != membership::Lookup::kOk) {
    if (group.status == membership::Lookup::kError) {
      host.Warn("cmd=0x0711 seq=", request.seq(), " group=", req.group_id(),
                ": membership service failed");
      host.Count("membership_failed");
    } else {
      host.Debug("cmd=0x0711 seq=", request.seq(), " group=", req.group_id(), ": no such group");
    }
    return reply();
  }

  auto shields = GroupSettings(host).PushShields(req.group_id());
  if (!shields.ok()) {
    host.Warn("cmd=0x0711 seq=", request.seq(), " group=", req.group_id(), ": ",
              shields.status().message());
    host.Count("storage_failed");
    return reply();
  }
  for (uint32_t user_id : req.user_id()) {
    auto it = shields->find(user_id);
    IM::BaseDefine::ShieldStatus* status = rsp.add_shield_status_list();
    status->set_user_id(user_id);
    status->set_group_id(req.group_id());
    status->set_shield_status(it != shields->end() ? it->second : 0);
  }
  reply();
}

}  // namespace dbproxy::plugins::group_chat
