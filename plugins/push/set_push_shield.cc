#include "plugins/push/set_push_shield.h"

#include <cstdint>
#include <ctime>

#include "IM.Login.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"

namespace dbproxy::plugins::push {
namespace {

constexpr uint32_t kResultOk = 0;
constexpr uint32_t kResultFailed = 1;

}  // namespace

void SetPushShield::Handle(sdk::Request& request) {
  IM::Login::IMPushShieldReq req;
  std::string_view body = request.body();
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));

  IM::Login::IMPushShieldRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_attach_data(req.attach_data());
  auto answer = [&](uint32_t result) {
    rsp.set_result_code(result);
    if (result == kResultOk) {
      rsp.set_shield_status(req.shield_status());
    }
    sdk::Status s = request.ReplyMessage(sid::kLogin, cid::kLoginResPushShield, rsp);
    if (!s.ok()) {
      host_.Warn("push shield: reply failed cmd=0x010c seq=", request.seq(), ": ", s.message());
    }
  };
  if (!parsed) {
    host_.Warn("push shield: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer(kResultFailed);
    return;
  }
  if (req.shield_status() > 1) {
    host_.Debug("push shield: status ", req.shield_status(), " refused user=", req.user_id());
    host_.Count("bad_requests");
    answer(kResultFailed);
    return;
  }

  uint32_t now = static_cast<uint32_t>(std::time(nullptr));
  auto conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    host_.Warn("push shield: ", conn.status().message(), " user=", req.user_id(),
               " seq=", request.seq());
    host_.Count("storage_errors");
    answer(kResultFailed);
    return;
  }
  auto updated = conn->Execute("UPDATE IMUser SET push_shield_status = ?, updated = ? WHERE id = ?",
                               {req.shield_status(), now, req.user_id()});
  conn->Release();
  if (!updated.ok()) {
    host_.Warn("push shield: ", updated.status().message(), " user=", req.user_id(),
               " seq=", request.seq());
    host_.Count("storage_errors");
    answer(kResultFailed);
    return;
  }
  answer(updated->affected() > 0 ? kResultOk : kResultFailed);
}

}  // namespace dbproxy::plugins::push
