#include "plugins/user/get_users_info.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <google/protobuf/io/coded_stream.h>

#include "IM.Buddy.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/user/user_store.h"

namespace dbproxy::plugins::user {
namespace {

// Ids per SELECT: the IN list is padded to a power of two, 1024 at most.
constexpr size_t kIdsPerStatement = 1024;

}  // namespace

void GetUsersInfo::Handle(sdk::Request& request) {
  IM::Buddy::IMUsersInfoReq req;
  std::string_view body = request.body();
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));

  IM::Buddy::IMUsersInfoRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_attach_data(req.attach_data());
  auto answer = [&] {
    sdk::Status s = request.ReplyMessage(sid::kBuddyList, cid::kBuddyUserInfoRsp, rsp);
    if (!s.ok()) {
      host_.Warn("users info: reply failed cmd=0x0204 seq=", request.seq(), ": ", s.message());
    }
  };
  if (!parsed) {
    host_.Warn("users info: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer();
    return;
  }

  std::vector<uint32_t> ids(req.user_id_list().begin(), req.user_id_list().end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.size() > config_.max_users_per_request) {
    host_.Warn("users info: ", ids.size(), " ids asked, answering the first ",
               config_.max_users_per_request, " user=", req.user_id(), " seq=", request.seq());
    host_.Count("users_info_capped");
    ids.resize(config_.max_users_per_request);
  }
  if (ids.empty()) {
    answer();
    return;
  }

  auto conn = host_.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    host_.Warn("users info: ", conn.status().message(), " user=", req.user_id(),
               " seq=", request.seq());
    host_.Count("storage_errors");
    answer();
    return;
  }
  size_t budget =
      config_.max_response_bytes - std::min(config_.max_response_bytes, rsp.ByteSizeLong() + 16);
  size_t used = 0;
  for (size_t at = 0; at < ids.size(); at += kIdsPerStatement) {
    std::vector<uint32_t> chunk(
        ids.begin() + static_cast<ptrdiff_t>(at),
        ids.begin() + static_cast<ptrdiff_t>(std::min(ids.size(), at + kIdsPerStatement)));
    auto rows = SelectUsersById(*conn, chunk);
    if (!rows.ok()) {
      host_.Warn("users info: ", rows.status().message(), " user=", req.user_id(),
                 " seq=", request.seq());
      host_.Count("storage_errors");
      rsp.clear_user_info_list();
      answer();
      return;
    }
    for (size_t i = 0; i < rows->rows(); ++i) {
      IM::BaseDefine::UserInfo* info = rsp.add_user_info_list();
      FillUserInfo(*rows, i, info);
      size_t n = info->ByteSizeLong();
      used += 1 + google::protobuf::io::CodedOutputStream::VarintSize64(n) + n;
      if (used > budget) {
        rsp.mutable_user_info_list()->RemoveLast();
        host_.Warn("users info: answer full at ", rsp.user_info_list_size(),
                   " users user=", req.user_id(), " seq=", request.seq());
        host_.Count("users_info_capped");
        conn->Release();
        answer();
        return;
      }
    }
  }
  conn->Release();
  answer();
}

}  // namespace dbproxy::plugins::user
