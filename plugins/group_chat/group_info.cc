#include "plugins/group_chat/group_info.h"

#include <unordered_map>
#include <vector>

#include "IM.Group.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/common/membership.h"
#include "plugins/group_chat/group_store.h"

namespace dbproxy::plugins::group_chat {
namespace {

bool IsMember(const std::vector<membership::Member>& members, uint32_t user_id) {
  for (const membership::Member& m : members) {
    if (m.user_id == user_id) {
      return true;
    }
  }
  return false;
}

}  // namespace

void HandleGroupInfo(const sdk::Host& host, const Config& config, sdk::Request& request) {
  std::string_view body = request.body();
  IM::Group::IMGroupInfoListReq req;
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));
  IM::Group::IMGroupInfoListRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_attach_data(req.attach_data());
  auto reply = [&] { (void)request.ReplyMessage(sid::kGroup, cid::kGroupInfoRsp, rsp); };

  if (!parsed) {
    host.Warn("cmd=0x0403 seq=", request.seq(), ": body does not parse");
    host.Count("bad_request");
    return reply();
  }

  std::unordered_map<uint32_t, uint32_t> asked;  // group id -> requested version
  std::vector<uint32_t> ids;
  for (const IM::BaseDefine::GroupVersionInfo& v : req.group_version_list()) {
    if (v.group_id() == 0) {
      continue;
    }
    auto [it, fresh] = asked.insert_or_assign(v.group_id(), v.version());
    if (fresh) {
      ids.push_back(v.group_id());
    }
  }
  if (ids.size() > config.max_groups) {
    host.Warn("cmd=0x0403 seq=", request.seq(), " user=", req.user_id(), ": ", ids.size(),
              " groups asked, answering the first ", config.max_groups);
    host.Count("groups_capped");
    for (size_t i = config.max_groups; i < ids.size(); ++i) {
      asked.erase(ids[i]);
    }
    ids.resize(config.max_groups);
  }
  if (ids.empty()) {
    return reply();
  }

  std::vector<GroupRecord> groups;
  {
    auto conn = host.Mysql(keys::kSlavePool);
    auto rows = conn.ok() ? GroupStore(*conn).LoadGroups(ids)
                          : sdk::Result<std::vector<GroupRecord>>(conn.status());
    if (!rows.ok()) {
      host.Warn("cmd=0x0403 seq=", request.seq(), " user=", req.user_id(), ": ",
                rows.status().message());
      host.Count("storage_failed");
      return reply();
    }
    groups = std::move(*rows);
  }  // the connection goes back before the membership service may need one

  for (const GroupRecord& g : groups) {
    if (asked[g.group_id] >= g.version) {
      continue;  // the caller's copy is current
    }
    if (!IM::BaseDefine::GroupType_IsValid(static_cast<int>(g.type))) {
      continue;
    }
    membership::Answer members = membership::Query(host, g.group_id, 0);
    if (members.status == membership::Lookup::kError) {
      host.Warn("cmd=0x0403 seq=", request.seq(), " group=", g.group_id,
                ": membership service failed; group left out");
      host.Count("membership_failed");
      continue;
    }
    if (members.status != membership::Lookup::kOk) {
      continue;
    }
    if (req.user_id() != 0 && !config.public_info && !IsMember(members.members, req.user_id())) {
      host.Debug("cmd=0x0403 seq=", request.seq(), " user=", req.user_id(), " group=", g.group_id,
                 ": not a member");
      host.Count("info_refused");
      continue;
    }
    IM::BaseDefine::GroupInfo* info = rsp.add_group_info_list();
    info->set_group_id(g.group_id);
    info->set_version(g.version);
    info->set_group_name(g.name);
    info->set_group_avatar(g.avatar);
    info->set_group_creator_id(g.creator);
    info->set_group_type(static_cast<IM::BaseDefine::GroupType>(g.type));
    info->set_shield_status(0);
    for (const membership::Member& m : members.members) {
      info->add_group_member_list(m.user_id);
    }
  }
  reply();
}

}  // namespace dbproxy::plugins::group_chat
