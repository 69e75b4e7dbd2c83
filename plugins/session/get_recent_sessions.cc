#include "plugins/session/get_recent_sessions.h"

#include <cstdint>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/common/latest_messages.h"

namespace dbproxy::plugins::session {
namespace {

namespace lm = latest_messages;

struct Latest {
  lm::PeerMap singles;   // peer -> relation and latest message
  lm::LatestMap groups;  // group id -> latest
};

// The latest message of every listed session, from teamtalk_slave.
sdk::Result<Latest> ReadLatest(const sdk::Host& host, uint32_t user_id,
                               const std::vector<SessionStore::Row>& rows) {
  std::vector<uint32_t> peers;
  std::vector<uint32_t> groups;
  for (const SessionStore::Row& r : rows) {
    (r.type == 1 ? peers : groups).push_back(r.peer_id);
  }
  auto conn = host.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    return conn.status();
  }
  Latest out;
  auto singles = lm::ForPeers(*conn, user_id, peers);
  if (!singles.ok()) {
    return singles.status();
  }
  out.singles = std::move(*singles);
  auto group_latest = lm::ForGroups(*conn, groups);
  if (!group_latest.ok()) {
    return group_latest.status();
  }
  out.groups = std::move(*group_latest);
  return out;
}

}  // namespace

void GetRecentSessions::Handle(sdk::Request& request) {
  IM::Buddy::IMRecentContactSessionReq req;
  std::string_view body = request.body();
  bool parsed =
      req.ParsePartialFromArray(body.data(), static_cast<int>(body.size())) && req.IsInitialized();
  const uint32_t user_id = req.user_id();

  IM::Buddy::IMRecentContactSessionRsp rsp;
  rsp.set_user_id(user_id);
  rsp.set_attach_data(req.attach_data());
  auto answer = [&] {
    sdk::Status s = request.ReplyMessage(sid::kBuddyList, cid::kBuddyRecentSessionRsp, rsp);
    if (!s.ok()) {
      host_.Warn("recent sessions reply failed: cmd=0x0201 seq=", request.seq(), " user=", user_id,
                 ": ", s.message());
    }
  };
  if (!parsed) {
    host_.Warn("recent sessions: body does not parse (", body.size(),
               " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer();
    return;
  }

  writer_.FlushUser(user_id);
  auto rows = store_.ListShown(user_id, req.latest_update_time(), config_.max_sessions);
  sdk::Result<Latest> latest =
      rows.ok() ? ReadLatest(host_, user_id, *rows) : sdk::Result<Latest>(rows.status());
  if (!latest.ok()) {
    host_.Warn("recent sessions of user ", user_id, " failed seq=", request.seq(), ": ",
               latest.status().message());
    host_.Count("storage_errors");
    answer();
    return;
  }

  for (const SessionStore::Row& r : *rows) {
    const lm::LatestMessage* m = nullptr;
    uint32_t from = 0;
    if (r.type == 1) {
      auto it = latest->singles.find(r.peer_id);
      m = it == latest->singles.end() || !it->second.latest ? nullptr : &*it->second.latest;
      from = r.peer_id;
    } else {
      auto it = latest->groups.find(r.peer_id);
      m = it == latest->groups.end() ? nullptr : &it->second;
      from = m == nullptr ? 0 : m->from_user_id;
    }
    if (m == nullptr || !lm::IsValidMsgType(m->msg_type)) {
      continue;
    }
    IM::BaseDefine::ContactSessionInfo* info = rsp.add_contact_session_list();
    info->set_session_id(r.peer_id);
    info->set_session_type(static_cast<IM::BaseDefine::SessionType>(r.type));
    info->set_session_status(IM::BaseDefine::SESSION_STATUS_OK);
    info->set_updated_time(r.updated);
    info->set_latest_msg_id(m->msg_id);
    std::string_view data = lm::DisplayData(*m, config_.audio_preview);
    info->set_latest_msg_data(data.data(), data.size());
    info->set_latest_msg_type(static_cast<IM::BaseDefine::MsgType>(m->msg_type));
    info->set_latest_msg_from_user_id(from);
  }
  host_.Count("recent_lists");
  answer();
}

}  // namespace dbproxy::plugins::session
