#include "plugins/unread/get_unread_count.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/common/latest_messages.h"

namespace dbproxy::plugins::unread {
namespace {

namespace lm = latest_messages;

// The groups the user is an active member of, most recently changed first, at most limit.
// IMGroupMember has no unique key: a group listed twice is kept once.
sdk::Result<std::vector<uint32_t>> GroupsOfUser(sdk::MysqlConn& conn, uint32_t user_id,
                                                uint32_t limit) {
  auto rows = conn.Execute(
      "SELECT groupId FROM IMGroupMember WHERE userId = ? AND status = 0 "
      "ORDER BY updated DESC, id DESC LIMIT ?",
      {user_id, limit});
  if (!rows.ok()) {
    return rows.status();
  }
  std::vector<uint32_t> out;
  for (size_t r = 0; r < rows->rows(); ++r) {
    auto gid = static_cast<uint32_t>(rows->Uint(r, 0));
    if (gid != 0 && std::find(out.begin(), out.end(), gid) == out.end()) {
      out.push_back(gid);
    }
  }
  return out;
}

void AddInfo(IM::Message::IMUnreadMsgCntRsp* rsp, uint32_t session_id,
             IM::BaseDefine::SessionType type, uint32_t count, const lm::LatestMessage& m,
             uint32_t from_user_id, std::string_view audio_preview, uint64_t* total) {
  IM::BaseDefine::UnreadInfo* info = rsp->add_unreadinfo_list();
  info->set_session_id(session_id);
  info->set_session_type(type);
  info->set_unread_cnt(count);
  info->set_latest_msg_id(m.msg_id);
  std::string_view data = lm::DisplayData(m, audio_preview);
  info->set_latest_msg_data(data.data(), data.size());
  info->set_latest_msg_type(static_cast<IM::BaseDefine::MsgType>(m.msg_type));
  info->set_latest_msg_from_user_id(from_user_id);
  *total += count;
}

}  // namespace

void GetUnreadCount::Handle(sdk::Request& request) {
  IM::Message::IMUnreadMsgCntReq req;
  std::string_view body = request.body();
  bool parsed =
      req.ParsePartialFromArray(body.data(), static_cast<int>(body.size())) && req.IsInitialized();
  const uint32_t user_id = req.user_id();

  IM::Message::IMUnreadMsgCntRsp rsp;
  rsp.set_user_id(user_id);
  rsp.set_total_cnt(0);
  rsp.set_attach_data(req.attach_data());
  auto answer = [&] {
    sdk::Status s = request.ReplyMessage(sid::kMsg, cid::kMsgUnreadCntRsp, rsp);
    if (!s.ok()) {
      host_.Warn("unread reply failed: cmd=0x0307 seq=", request.seq(), " user=", user_id, ": ",
                 s.message());
    }
  };
  auto fail = [&](const char* what, const std::string& why) {
    host_.Warn("unread list of user ", user_id, " failed (", what, ") seq=", request.seq(), ": ",
               why);
    host_.Count("storage_errors");
    rsp.clear_unreadinfo_list();
    rsp.set_total_cnt(0);
    answer();
  };

  if (!parsed) {
    host_.Warn("unread: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer();
    return;
  }

  auto conn = host_.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    return fail("mysql", conn.status().message());
  }
  auto groups = GroupsOfUser(*conn, user_id, config_.max_groups);
  if (!groups.ok()) {
    return fail("groups", groups.status().message());
  }
  auto snap = counters_.Read(user_id, *groups);
  if (!snap.ok()) {
    return fail("redis", snap.status().message());
  }

  std::vector<uint32_t> peers;
  for (const auto& s : snap->singles) {
    peers.push_back(s.peer_id);
  }
  auto singles = lm::ForPeers(*conn, user_id, peers);
  if (!singles.ok()) {
    return fail("latest single messages", singles.status().message());
  }
  std::vector<uint32_t> unread_groups;
  for (const auto& g : snap->groups) {
    unread_groups.push_back(g.group_id);
  }
  auto group_latest = lm::ForGroups(*conn, unread_groups);
  if (!group_latest.ok()) {
    return fail("latest group messages", group_latest.status().message());
  }
  conn->Release();

  uint64_t total = 0;
  for (const auto& s : snap->singles) {
    auto p = singles->find(s.peer_id);
    if (p == singles->end() || !p->second.latest ||
        !lm::IsValidMsgType(p->second.latest->msg_type)) {
      continue;
    }
    AddInfo(&rsp, s.peer_id, IM::BaseDefine::SESSION_TYPE_SINGLE, s.count, *p->second.latest,
            s.peer_id, config_.audio_preview, &total);
  }
  for (const auto& g : snap->groups) {
    auto m = group_latest->find(g.group_id);
    if (m == group_latest->end() || !lm::IsValidMsgType(m->second.msg_type)) {
      continue;
    }
    AddInfo(&rsp, g.group_id, IM::BaseDefine::SESSION_TYPE_GROUP, g.unread, m->second,
            m->second.from_user_id, config_.audio_preview, &total);
  }
  rsp.set_total_cnt(
      static_cast<uint32_t>(std::min<uint64_t>(total, std::numeric_limits<uint32_t>::max())));
  host_.Count("unread_lists");
  answer();
}

}  // namespace dbproxy::plugins::unread
