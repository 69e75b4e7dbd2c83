#include "plugins/unread/get_unread_count.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/common/latest_cache.h"
#include "plugins/common/latest_messages.h"
#include "plugins/common/sql_in_list.h"

namespace dbproxy::plugins::unread {
namespace {

namespace lm = latest_messages;

// The groups each user is an active member of, most recently changed first, at most limit
// per user, for up to kUsersPerStatement users per statement (padded to a power of two).
// IMGroupMember has no unique key: a group listed twice is kept once (and the limit counts
// rows, as a LIMIT would). Users in no group are absent.
constexpr size_t kUsersPerStatement = 64;

sdk::Result<std::unordered_map<uint32_t, std::vector<uint32_t>>> GroupsOfUsers(
    sdk::MysqlConn& conn, const std::vector<uint32_t>& users, uint32_t limit) {
  std::unordered_map<uint32_t, std::vector<uint32_t>> out;
  std::unordered_map<uint32_t, uint32_t> rows_seen;
  for (size_t at = 0; at < users.size(); at += kUsersPerStatement) {
    std::vector<uint32_t> chunk(users.begin() + static_cast<std::ptrdiff_t>(at),
                                users.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                    users.size(), at + kUsersPerStatement)));
    std::vector<sdk::Param> params;
    sql::AppendPadded(&params, chunk);
    auto rows =
        conn.ExecuteSpan(sdk::StrCat("SELECT userId, groupId FROM IMGroupMember WHERE userId IN ",
                                     sql::InList(chunk.size()),
                                     " AND status = 0 ORDER BY userId, updated DESC, id DESC"),
                         params.data(), params.size());
    if (!rows.ok()) {
      return rows.status();
    }
    for (size_t r = 0; r < rows->rows(); ++r) {
      const auto user = static_cast<uint32_t>(rows->Uint(r, 0));
      const auto gid = static_cast<uint32_t>(rows->Uint(r, 1));
      if (rows_seen[user]++ >= limit) {
        continue;
      }
      std::vector<uint32_t>& groups = out[user];
      if (gid != 0 && std::find(groups.begin(), groups.end(), gid) == groups.end()) {
        groups.push_back(gid);
      }
    }
  }
  return out;
}

// The relation and latest message of each peer the user has unread messages from that
// *out does not hold yet (read from MySQL; added to *out).
sdk::Status LatestSingles(sdk::MysqlConn& conn, uint32_t user_id,
                          const UnreadCounters::Snapshot& snap, lm::PeerMap* out) {
  std::vector<uint32_t> peers;
  for (const auto& single : snap.singles) {
    if (out->count(single.peer_id) == 0) {
      peers.push_back(single.peer_id);
    }
  }
  if (peers.empty()) {
    return sdk::Status();
  }
  sdk::Result<lm::PeerMap> singles = lm::ForPeers(conn, user_id, peers);
  if (!singles.ok()) {
    return sdk::Status(DBP_E_MYSQL,
                       sdk::StrCat("latest single messages: ", singles.status().message()));
  }
  out->merge(*singles);
  return sdk::Status();
}

// The latest message of each group.
sdk::Status LatestOfGroups(sdk::MysqlConn& conn, const std::vector<uint32_t>& group_ids,
                           lm::LatestMap* out) {
  sdk::Result<lm::LatestMap> latest = lm::ForGroups(conn, group_ids);
  if (!latest.ok()) {
    return sdk::Status(DBP_E_MYSQL,
                       sdk::StrCat("latest group messages: ", latest.status().message()));
  }
  *out = std::move(*latest);
  return sdk::Status();
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

// What one user of a batch gets: the counters and the latest single messages, or why not.
struct GetUnreadCount::UserView {
  sdk::Status status;
  UnreadCounters::Snapshot snap;
  lm::PeerMap singles;
};

void GetUnreadCount::HandleBatch(std::span<sdk::Request> requests) {
  struct Pending {
    sdk::Request* request;
    IM::Message::IMUnreadMsgCntReq req;
  };
  std::vector<Pending> pending;
  for (sdk::Request& request : requests) {
    Pending p{&request, {}};
    std::string_view body = request.body();
    if (!p.req.ParsePartialFromArray(body.data(), static_cast<int>(body.size())) ||
        !p.req.IsInitialized()) {
      host_.Warn("unread: body does not parse (", body.size(), " bytes) seq=", request.seq());
      host_.Count("parse_errors");
      Answer(request, p.req, nullptr, lm::LatestMap());
      continue;
    }
    pending.push_back(std::move(p));
  }
  if (pending.empty()) {
    return;
  }

  std::vector<uint32_t> users;
  for (const Pending& p : pending) {
    users.push_back(p.req.user_id());
  }
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());

  std::unordered_map<uint32_t, UserView> views;
  lm::LatestMap group_latest;
  Read(users, &views, &group_latest);
  for (Pending& p : pending) {
    Answer(*p.request, p.req, &views[p.req.user_id()], group_latest);
  }
  host_.Count("unread_batches");
}

void GetUnreadCount::Read(const std::vector<uint32_t>& users,
                          std::unordered_map<uint32_t, UserView>* views,
                          lm::LatestMap* group_latest) const {
  auto fail_all = [&](const char* what, const std::string& why) {
    for (uint32_t user : users) {
      (*views)[user].status = sdk::Status(DBP_E_UNAVAILABLE, sdk::StrCat(what, ": ", why));
    }
  };
  auto conn = host_.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    return fail_all("mysql", conn.status().message());
  }
  auto groups = GroupsOfUsers(*conn, users, config_.max_groups);
  if (!groups.ok()) {
    return fail_all("groups", groups.status().message());
  }
  std::vector<UnreadCounters::Query> queries;
  for (uint32_t user : users) {
    auto it = groups->find(user);
    queries.push_back({user, it == groups->end() ? std::vector<uint32_t>() : it->second});
  }
  std::vector<sdk::Result<UnreadCounters::Snapshot>> snaps = counters_.ReadMany(queries);

  std::vector<uint32_t> unread_groups;
  for (size_t i = 0; i < users.size(); ++i) {
    UserView& view = (*views)[users[i]];
    if (!snaps[i].ok()) {
      view.status = sdk::Status(DBP_E_REDIS, sdk::StrCat("redis: ", snaps[i].status().message()));
      continue;
    }
    view.snap = std::move(*snaps[i]);
    for (const auto& g : view.snap.groups) {
      unread_groups.push_back(g.group_id);
    }
  }
  ReadCachedLatest(users, views);
  for (uint32_t user : users) {
    UserView& view = (*views)[user];
    if (view.status.ok() && !view.snap.singles.empty()) {
      view.status = LatestSingles(*conn, user, view.snap, &view.singles);
    }
  }
  if (unread_groups.empty()) {
    return;
  }
  const sdk::Status latest = LatestOfGroups(*conn, unread_groups, group_latest);
  if (!latest.ok()) {
    for (uint32_t user : users) {
      UserView& view = (*views)[user];
      if (view.status.ok() && !view.snap.groups.empty()) {
        view.status = latest;
      }
    }
  }
}

void GetUnreadCount::ReadCachedLatest(const std::vector<uint32_t>& users,
                                      std::unordered_map<uint32_t, UserView>* views) const {
  sdk::RedisPipeline pipeline = host_.RedisInstance(keys::kUnreadInstance).Pipeline();
  std::vector<uint32_t> asked;  // users with a script in the pipeline, in order
  for (uint32_t user : users) {
    const UserView& view = (*views)[user];
    if (!view.status.ok() || view.snap.singles.empty()) {
      continue;
    }
    std::vector<std::string> argv = {"EVAL", std::string(latest_cache::kReadScript),
                                     keys::Num(view.snap.singles.size())};
    for (const auto& single : view.snap.singles) {
      argv.push_back(latest_cache::Key(user, single.peer_id));
    }
    pipeline.Append(argv);
    asked.push_back(user);
  }
  if (asked.empty()) {
    return;
  }
  auto reply = pipeline.Exec();
  if (!reply.ok() || reply->size() != asked.size()) {
    // MySQL answers for every conversation.
    host_.Count("latest_cache_read_failures");
    return;
  }
  int64_t hits = 0;
  int64_t misses = 0;
  for (size_t u = 0; u < asked.size(); ++u) {
    UserView& view = (*views)[asked[u]];
    sdk::RedisValue values = (*reply)[u];
    if (values.size() != view.snap.singles.size()) {
      misses += static_cast<int64_t>(view.snap.singles.size());
      continue;
    }
    for (size_t p = 0; p < view.snap.singles.size(); ++p) {
      latest_cache::Entry entry;
      if (!values[p].is_string() || !latest_cache::Decode(values[p].str(), &entry)) {
        ++misses;
        continue;
      }
      lm::PeerLatest& peer = view.singles[view.snap.singles[p].peer_id];
      peer.relate_id = entry.relate_id;
      peer.latest = lm::LatestMessage{entry.msg_id, entry.msg_type, entry.from_user_id,
                                      std::move(entry.content)};
      ++hits;
    }
  }
  host_.Count("latest_cache_hits", hits);
  host_.Count("latest_cache_misses", misses);
}

void GetUnreadCount::Answer(sdk::Request& request, const IM::Message::IMUnreadMsgCntReq& req,
                            const UserView* view, const lm::LatestMap& group_latest) const {
  const uint32_t user_id = req.user_id();
  IM::Message::IMUnreadMsgCntRsp rsp;
  rsp.set_user_id(user_id);
  rsp.set_total_cnt(0);
  rsp.set_attach_data(req.attach_data());
  if (view != nullptr && !view->status.ok()) {
    host_.Warn("unread list of user ", user_id, " failed seq=", request.seq(), ": ",
               view->status.message());
    host_.Count("storage_errors");
    view = nullptr;
  }
  if (view != nullptr) {
    uint64_t total = 0;
    for (const auto& s : view->snap.singles) {
      auto p = view->singles.find(s.peer_id);
      if (p == view->singles.end() || !p->second.latest ||
          !lm::IsValidMsgType(p->second.latest->msg_type)) {
        continue;
      }
      AddInfo(&rsp, s.peer_id, IM::BaseDefine::SESSION_TYPE_SINGLE, s.count, *p->second.latest,
              s.peer_id, config_.audio_preview, &total);
    }
    for (const auto& g : view->snap.groups) {
      auto m = group_latest.find(g.group_id);
      if (m == group_latest.end() || !lm::IsValidMsgType(m->second.msg_type)) {
        continue;
      }
      AddInfo(&rsp, g.group_id, IM::BaseDefine::SESSION_TYPE_GROUP, g.unread, m->second,
              m->second.from_user_id, config_.audio_preview, &total);
    }
    rsp.set_total_cnt(
        static_cast<uint32_t>(std::min<uint64_t>(total, std::numeric_limits<uint32_t>::max())));
    host_.Count("unread_lists");
  }
  sdk::Status s = request.ReplyMessage(sid::kMsg, cid::kMsgUnreadCntRsp, rsp);
  if (!s.ok()) {
    host_.Warn("unread reply failed: cmd=0x0307 seq=", request.seq(), " user=", user_id, ": ",
               s.message());
  }
}

}  // namespace dbproxy::plugins::unread
