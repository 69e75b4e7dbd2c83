#include "plugins/group_chat/normal_group_list.h"

#include "IM.Group.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/group_chat/group_store.h"

namespace dbproxy::plugins::group_chat {

void HandleNormalGroupList(const sdk::Host& host, const Config& config, sdk::Request& request) {
  std::string_view body = request.body();
  IM::Group::IMNormalGroupListReq req;
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));
  IM::Group::IMNormalGroupListRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_attach_data(req.attach_data());

  if (!parsed) {
    host.Warn("cmd=0x0401 seq=", request.seq(), ": body does not parse");
    host.Count("bad_request");
  } else {
    auto conn = host.Mysql(keys::kSlavePool);
    auto groups = conn.ok() ? GroupStore(*conn).NormalGroupsOfUser(req.user_id(), config.max_groups)
                            : sdk::Result<std::vector<GroupVersion>>(conn.status());
    if (groups.ok()) {
      for (const GroupVersion& g : *groups) {
        IM::BaseDefine::GroupVersionInfo* info = rsp.add_group_version_list();
        info->set_group_id(g.group_id);
        info->set_version(g.version);
      }
    } else {
      host.Warn("cmd=0x0401 seq=", request.seq(), " user=", req.user_id(), ": ",
                groups.status().message());
      host.Count("storage_failed");
    }
  }
  (void)request.ReplyMessage(sid::kGroup, cid::kGroupNormalListRsp, rsp);
}

}  // namespace dbproxy::plugins::group_chat
