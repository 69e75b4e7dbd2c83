#include "plugins/user/get_changed_users.h"

#include <algorithm>
#include <cstdint>

#include "IM.Buddy.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/user/changed_user_page.h"

namespace dbproxy::plugins::user {
namespace {

// Room kept for the answer's other fields (user_id, latest_update_time, tags).
constexpr size_t kFixedFieldBytes = 32;

}  // namespace

void GetChangedUsers::Handle(sdk::Request& request) {
  IM::Buddy::IMAllUserReq req;
  std::string_view body = request.body();
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));

  IM::Buddy::IMAllUserRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_latest_update_time(req.latest_update_time());
  rsp.set_attach_data(req.attach_data());
  auto empty_answer = [&] {
    rsp.clear_user_list();
    rsp.set_latest_update_time(req.latest_update_time());
    sdk::Status s = request.ReplyMessage(sid::kBuddyList, cid::kBuddyAllUserRsp, rsp);
    if (!s.ok()) {
      host_.Warn("all users: reply failed cmd=0x0208 seq=", request.seq(), ": ", s.message());
    }
  };
  if (!parsed) {
    host_.Warn("all users: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    empty_answer();
    return;
  }

  ChangeFilter filter;
  filter.full = req.latest_update_time() == 0;
  filter.since = req.latest_update_time();
  PageLimits limits;
  limits.max_users = config_.max_users_per_response;
  limits.batch_size = config_.user_batch_size;
  size_t fixed = kFixedFieldBytes + req.attach_data().size();
  limits.max_bytes = config_.max_response_bytes - std::min(config_.max_response_bytes, fixed);

  // A frame limit below max_response_bytes (a config mistake) makes the reply fail; then
  // retry with a quarter of the bytes, twice, before answering an empty list.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto conn = host_.Mysql(keys::kSlavePool);
    if (!conn.ok()) {
      host_.Warn("all users: ", conn.status().message(), " user=", req.user_id(),
                 " seq=", request.seq());
      host_.Count("storage_errors");
      empty_answer();
      return;
    }
    auto page = BuildChangedUserPage(*conn, filter, req.latest_update_time(), limits,
                                     rsp.mutable_user_list());
    conn->Release();
    if (!page.ok()) {
      host_.Warn("all users: ", page.status().message(), " user=", req.user_id(),
                 " seq=", request.seq());
      host_.Count("storage_errors");
      empty_answer();
      return;
    }
    if (page->second_split) {
      host_.Warn("all users: more users share updated=", page->latest_update_time - 1,
                 " than one answer holds; the rest of that second is skipped for this client"
                 " (raise max_users_per_response / max_frame_bytes) user=",
                 req.user_id(), " seq=", request.seq());
      host_.Count("all_user_second_split");
    }
    rsp.set_latest_update_time(page->latest_update_time);
    sdk::Status s = request.ReplyMessage(sid::kBuddyList, cid::kBuddyAllUserRsp, rsp);
    if (s.ok()) {
      host_.Debug("all users: ", rsp.user_list_size(), " users, latest_update_time ",
                  req.latest_update_time(), " -> ", page->latest_update_time,
                  " user=", req.user_id(), " seq=", request.seq());
      return;
    }
    host_.Warn("all users: reply of ", rsp.ByteSizeLong(), " bytes refused (", s.message(),
               "); max_response_bytes exceeds the frame limit? seq=", request.seq());
    host_.Count("reply_too_large");
    limits.max_bytes /= 4;
  }
  empty_answer();
}

}  // namespace dbproxy::plugins::user
