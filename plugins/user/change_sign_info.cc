#include "plugins/user/change_sign_info.h"

#include <cstdint>
#include <ctime>

#include "IM.Buddy.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/user/change_marker.h"
#include "plugins/user/user_store.h"

namespace dbproxy::plugins::user {
namespace {

constexpr size_t kMaxSignInfoBytes = 128;  // TeamTalk's check; the column is varchar(128)
constexpr uint32_t kResultOk = 0;
constexpr uint32_t kResultFailed = 1;

}  // namespace

void ChangeSignInfo::Handle(sdk::Request& request) {
  IM::Buddy::IMChangeSignInfoReq req;
  std::string_view body = request.body();
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));

  IM::Buddy::IMChangeSignInfoRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_attach_data(req.attach_data());
  auto answer = [&](uint32_t result) {
    rsp.set_result_code(result);
    if (result == kResultOk) {
      rsp.set_sign_info(req.sign_info());
    }
    sdk::Status s = request.ReplyMessage(sid::kBuddyList, cid::kBuddyChangeSignInfoRsp, rsp);
    if (!s.ok()) {
      host_.Warn("sign info: reply failed cmd=0x0213 seq=", request.seq(), ": ", s.message());
    }
  };
  if (!parsed) {
    host_.Warn("sign info: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer(kResultFailed);
    return;
  }
  if (req.sign_info().size() > kMaxSignInfoBytes) {
    host_.Debug("sign info: ", req.sign_info().size(), " bytes refused user=", req.user_id());
    host_.Count("sign_info_too_long");
    answer(kResultFailed);
    return;
  }

  uint32_t now = static_cast<uint32_t>(std::time(nullptr));
  uint64_t matched = 0;
  {
    auto conn = host_.Mysql(keys::kMasterPool);
    if (!conn.ok()) {
      host_.Warn("sign info: ", conn.status().message(), " user=", req.user_id(),
                 " seq=", request.seq());
      host_.Count("storage_errors");
      answer(kResultFailed);
      return;
    }
    auto updated = UpdateText(*conn, TextColumn::kSignInfo, req.user_id(), req.sign_info(), now);
    if (!updated.ok()) {
      host_.Warn("sign info: ", updated.status().message(), " user=", req.user_id(),
                 " seq=", request.seq());
      host_.Count("storage_errors");
      answer(kResultFailed);
      return;
    }
    matched = *updated;
  }
  if (matched == 0) {
    host_.Debug("sign info: no user ", req.user_id());
    answer(kResultFailed);
    return;
  }
  WriteChangeMarker(host_, now);
  answer(kResultOk);
}

}  // namespace dbproxy::plugins::user
