// group_chat: group lists, group info, group creation and the per-group push shield
// (0x0401, 0x0403, 0x0405, 0x0409, 0x0711). Membership comes from the group_member module's
// service (plugins/common/membership.h). See README.md.

#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"
#include "plugins/group_chat/config.h"
#include "plugins/group_chat/create_group.h"
#include "plugins/group_chat/get_shield.h"
#include "plugins/group_chat/group_info.h"
#include "plugins/group_chat/normal_group_list.h"
#include "plugins/group_chat/shield_group.h"

namespace dbproxy::plugins::group_chat {
namespace {

using HandlerFn = void (*)(const sdk::Host&, const Config&, sdk::Request&);

class GroupChatPlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    auto config = LoadConfig(host);
    if (!config.ok()) {
      return config.status();
    }
    config_ = *config;
    const struct {
      uint16_t cmd;
      HandlerFn fn;
    } commands[] = {
        {cid::kGroupNormalListReq, &HandleNormalGroupList},
        {cid::kGroupInfoReq, &HandleGroupInfo},
        {cid::kGroupCreateReq, &HandleCreateGroup},
        {cid::kGroupShieldReq, &HandleShieldGroup},
        {cid::kOtherGetShieldReq, &HandleGetShield},
    };
    for (const auto& c : commands) {
      HandlerFn fn = c.fn;
      sdk::Host* h = &host;
      sdk::Status s =
          host.RegisterCommand(c.cmd, [this, h, fn](sdk::Request& r) { fn(*h, config_, r); });
      if (!s.ok()) {
        return s;
      }
    }
    return sdk::Status();
  }

 private:
  Config config_;
};

}  // namespace
}  // namespace dbproxy::plugins::group_chat

DBP_PLUGIN("group_chat", "1.0.0", DBP_PLUGIN_RELOADABLE,
           dbproxy::plugins::group_chat::GroupChatPlugin)
