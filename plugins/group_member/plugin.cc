// group_member: the group membership service (internal 0xF001, plugins/common/membership.h)
// and CID_GROUP_CHANGE_MEMBER_REQUEST 0x0407. See README.md.

#include <memory>

#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"
#include "plugins/group_member/change_member.h"
#include "plugins/group_member/config.h"
#include "plugins/group_member/membership_service.h"
#include "plugins/group_member/order_key.h"
#include "plugins/group_member/stale_groups.h"

namespace dbproxy::plugins::group_member {
namespace {

class GroupMemberPlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    auto config = LoadConfig(host);
    if (!config.ok()) {
      return config.status();
    }
    config_ = *config;
    service_ = std::make_unique<MembershipService>(host, config_, stale_);
    change_ = std::make_unique<ChangeMember>(host, config_, stale_);

    sdk::Status s = host.RegisterCommand(
        cid::kInternalGroupMembers, [this](sdk::Request& r) { service_->Handle(r); }, nullptr,
        DBP_CMD_INTERNAL);
    if (s.ok()) {
      s = host.RegisterCommand(
          cid::kGroupChangeMemberReq, [this](sdk::Request& r) { change_->Handle(r); },
          &ChangeMemberOrderKey);
    }
    return s;
  }

 private:
  Config config_;
  StaleGroups stale_;
  std::unique_ptr<MembershipService> service_;
  std::unique_ptr<ChangeMember> change_;
};

}  // namespace
}  // namespace dbproxy::plugins::group_member

DBP_PLUGIN("group_member", "1.0.0", DBP_PLUGIN_RELOADABLE,
           dbproxy::plugins::group_member::GroupMemberPlugin)
