#include "plugins/push/get_device_tokens.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Server.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/common/sql_in_list.h"
#include "plugins/push/device_token_store.h"
#include "plugins/push/push_count.h"

namespace dbproxy::plugins::push {
namespace {

constexpr uint32_t kPushTypeNormal = 1;  // IM_PUSH_TYPE_NORMAL
constexpr size_t kIdsPerStatement = 1024;

struct Target {
  uint32_t user_id;
  DeviceToken device;
};

// The users among ids with push_shield_status = 1. False on a storage error.
bool LoadShielded(const sdk::Host& host, const std::vector<uint32_t>& ids,
                  std::unordered_set<uint32_t>* out) {
  auto conn = host.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    host.Warn("device tokens: ", conn.status().message());
    return false;
  }
  for (size_t at = 0; at < ids.size(); at += kIdsPerStatement) {
    std::vector<uint32_t> chunk(
        ids.begin() + static_cast<ptrdiff_t>(at),
        ids.begin() + static_cast<ptrdiff_t>(std::min(ids.size(), at + kIdsPerStatement)));
    std::vector<sdk::Param> params;
    sql::AppendPadded(&params, chunk);
    std::string sql = "SELECT id FROM IMUser WHERE id IN " + sql::InList(chunk.size()) +
                      " AND push_shield_status = 1";
    auto rows = conn->ExecuteSpan(sql, params.data(), params.size());
    if (!rows.ok()) {
      host.Warn("device tokens: ", rows.status().message());
      return false;
    }
    for (size_t i = 0; i < rows->rows(); ++i) {
      out->insert(static_cast<uint32_t>(rows->Uint(i, 0)));
    }
  }
  return true;
}

}  // namespace

void GetDeviceTokens::Handle(sdk::Request& request) {
  IM::Server::IMGetDeviceTokenReq req;
  std::string_view body = request.body();
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));

  IM::Server::IMGetDeviceTokenRsp rsp;
  rsp.set_attach_data(req.attach_data());
  auto answer = [&] {
    sdk::Status s = request.ReplyMessage(sid::kOther, cid::kOtherGetDeviceTokenRsp, rsp);
    if (!s.ok()) {
      host_.Warn("device tokens: reply failed cmd=0x0705 seq=", request.seq(), ": ", s.message());
    }
  };
  if (!parsed) {
    host_.Warn("device tokens: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer();
    return;
  }

  std::vector<uint32_t> users;
  {
    std::unordered_set<uint32_t> seen;
    for (uint32_t u : req.user_id()) {
      if (seen.insert(u).second) {
        users.push_back(u);
      }
    }
  }
  if (users.size() > config_.max_users_per_request) {
    host_.Warn("device tokens: ", users.size(), " users asked, answering the first ",
               config_.max_users_per_request, " seq=", request.seq());
    host_.Count("device_tokens_capped");
    users.resize(config_.max_users_per_request);
  }
  if (users.empty()) {
    answer();
    return;
  }

  auto stored = LoadDeviceTokens(host_, users);
  if (!stored.ok()) {
    host_.Warn("device tokens: ", stored.status().message(), " seq=", request.seq());
    host_.Count("storage_errors");
    answer();
    return;
  }
  std::vector<Target> targets;
  std::vector<uint32_t> ios_users;
  for (size_t i = 0; i < users.size(); ++i) {
    if (!(*stored)[i]) {
      continue;
    }
    DeviceToken device = ParseStoredValue(*(*stored)[i]);
    if (device.kind == DeviceKind::kOther || device.token.empty()) {
      continue;  // PC clients, logged-out users and foreign prefixes get no push
    }
    if (device.kind == DeviceKind::kIos) {
      ios_users.push_back(users[i]);
    }
    targets.push_back(Target{users[i], std::move(device)});
  }

  std::unordered_set<uint32_t> shielded;
  if (!ios_users.empty() && config_.quiet_hours->Contains(config_.Now())) {
    if (!LoadShielded(host_, ios_users, &shielded)) {
      // Without the flags, push: a late notification beats a lost one.
      host_.Count("storage_errors");
    }
  }

  std::vector<uint32_t> pushed;
  for (const Target& t : targets) {
    if (t.device.kind == DeviceKind::kIos && shielded.count(t.user_id) != 0) {
      continue;
    }
    pushed.push_back(t.user_id);
  }
  PushCounts counts = CountUnread(host_, pushed);
  if (counts.degraded) {
    host_.Warn("device tokens: unread counts incomplete seq=", request.seq());
    host_.Count("push_count_degraded");
  }
  for (const Target& t : targets) {
    if (t.device.kind == DeviceKind::kIos && shielded.count(t.user_id) != 0) {
      continue;
    }
    IM::BaseDefine::UserTokenInfo* info = rsp.add_user_token_info();
    info->set_user_id(t.user_id);
    info->set_user_type(t.device.kind == DeviceKind::kIos ? IM::BaseDefine::CLIENT_TYPE_IOS
                                                          : IM::BaseDefine::CLIENT_TYPE_ANDROID);
    info->set_token(t.device.token);
    auto count = counts.by_user.find(t.user_id);
    info->set_push_count(count == counts.by_user.end() ? 0 : count->second);
    info->set_push_type(kPushTypeNormal);
  }
  answer();
}

}  // namespace dbproxy::plugins::push
