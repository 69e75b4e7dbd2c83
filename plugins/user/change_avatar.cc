#include "plugins/user/change_avatar.h"

#include <cstdint>
#include <ctime>

#include "IM.Buddy.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/user/change_marker.h"
#include "plugins/user/user_store.h"

namespace dbproxy::plugins::user {
namespace {

constexpr size_t kMaxAvatarBytes = 255;  // IMUser.avatar is varchar(255)
constexpr uint32_t kResultOk = 0;
constexpr uint32_t kResultFailed = 1;

}  // namespace

void ChangeAvatar::Handle(sdk::Request& request) {
  IM::Buddy::IMChangeAvatarReq req;
  std::string_view body = request.body();
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));

  IM::Buddy::IMChangeAvatarRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_attach_data(req.attach_data());
  auto answer = [&](uint32_t result) {
    rsp.set_result_code(result);
    sdk::Status s = request.ReplyMessage(sid::kBuddyList, cid::kBuddyChangeAvatarRsp, rsp);
    if (!s.ok()) {
      host_.Warn("avatar: reply failed cmd=0x020c seq=", request.seq(), ": ", s.message());
    }
  };
  if (!parsed) {
    host_.Warn("avatar: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer(kResultFailed);
    return;
  }
  if (req.avatar_url().size() > kMaxAvatarBytes) {
    host_.Debug("avatar: ", req.avatar_url().size(), " bytes refused user=", req.user_id());
    host_.Count("avatar_too_long");
    answer(kResultFailed);
    return;
  }

  uint32_t now = static_cast<uint32_t>(std::time(nullptr));
  uint64_t matched = 0;
  {
    auto conn = host_.Mysql(keys::kMasterPool);
    if (!conn.ok()) {
      host_.Warn("avatar: ", conn.status().message(), " user=", req.user_id(),
                 " seq=", request.seq());
      host_.Count("storage_errors");
      answer(kResultFailed);
      return;
    }
    auto updated = UpdateText(*conn, TextColumn::kAvatar, req.user_id(), req.avatar_url(), now);
    if (!updated.ok()) {
      host_.Warn("avatar: ", updated.status().message(), " user=", req.user_id(),
                 " seq=", request.seq());
      host_.Count("storage_errors");
      answer(kResultFailed);
      return;
    }
    matched = *updated;
  }
  if (matched == 0) {
    host_.Debug("avatar: no user ", req.user_id());
    answer(kResultFailed);
    return;
  }
  WriteChangeMarker(host_, now);
  answer(kResultOk);
}

}  // namespace dbproxy::plugins::user
