#include "plugins/push/set_device_token.h"

#include <optional>

#include "IM.Login.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/push/device_token_store.h"

namespace dbproxy::plugins::push {
namespace {

// Longest token stored; APNs and FCM tokens are far shorter.
constexpr size_t kMaxTokenBytes = 4096;

}  // namespace

void SetDeviceToken::Handle(sdk::Request& request) {
  IM::Login::IMDeviceTokenReq req;
  std::string_view body = request.body();
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));

  IM::Login::IMDeviceTokenRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_attach_data(req.attach_data());
  auto answer = [&] {
    sdk::Status s = request.ReplyMessage(sid::kLogin, cid::kLoginResDeviceToken, rsp);
    if (!s.ok()) {
      host_.Warn("device token: reply failed cmd=0x0108 seq=", request.seq(), ": ", s.message());
    }
  };
  if (!parsed) {
    host_.Warn("device token: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer();
    return;
  }
  if (req.device_token().size() > kMaxTokenBytes) {
    host_.Warn("device token: ", req.device_token().size(), " bytes refused user=", req.user_id(),
               " seq=", request.seq());
    host_.Count("device_token_too_long");
    answer();
    return;
  }

  std::optional<uint32_t> client_type;
  if (req.has_client_type()) {
    client_type = static_cast<uint32_t>(req.client_type());
  }
  std::string value = StoredValue(client_type, req.device_token());
  sdk::Status saved = SaveDeviceToken(host_, req.user_id(), value, req.device_token());
  if (!saved.ok()) {
    host_.Warn("device token: not stored for user=", req.user_id(), " seq=", request.seq(), ": ",
               saved.message());
    host_.Count("storage_errors");
  } else if (req.device_token().empty()) {
    host_.Count("device_token_cleared");
  }
  answer();
}

}  // namespace dbproxy::plugins::push
