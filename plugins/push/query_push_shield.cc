#include "plugins/push/query_push_shield.h"

#include <cstdint>

#include "IM.Login.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"

namespace dbproxy::plugins::push {
namespace {

constexpr uint32_t kResultOk = 0;
constexpr uint32_t kResultFailed = 1;

}  // namespace

void QueryPushShield::Handle(sdk::Request& request) {
  IM::Login::IMQueryPushShieldReq req;
  std::string_view body = request.body();
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));

  IM::Login::IMQueryPushShieldRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_attach_data(req.attach_data());
  rsp.set_result_code(kResultFailed);
  auto answer = [&] {
    sdk::Status s = request.ReplyMessage(sid::kLogin, cid::kLoginResQueryPushShield, rsp);
    if (!s.ok()) {
      host_.Warn("query push shield: reply failed cmd=0x010e seq=", request.seq(), ": ",
                 s.message());
    }
  };
  if (!parsed) {
    host_.Warn("query push shield: body does not parse (", body.size(),
               " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer();
    return;
  }

  auto conn = host_.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    host_.Warn("query push shield: ", conn.status().message(), " user=", req.user_id(),
               " seq=", request.seq());
    host_.Count("storage_errors");
    answer();
    return;
  }
  auto rows = conn->Execute("SELECT push_shield_status FROM IMUser WHERE id = ?", {req.user_id()});
  conn->Release();
  if (!rows.ok()) {
    host_.Warn("query push shield: ", rows.status().message(), " user=", req.user_id(),
               " seq=", request.seq());
    host_.Count("storage_errors");
    answer();
    return;
  }
  if (rows->rows() == 1) {
    rsp.set_result_code(kResultOk);
    rsp.set_shield_status(static_cast<uint32_t>(rows->Uint(0, 0)));
  }
  answer();
}

}  // namespace dbproxy::plugins::push
