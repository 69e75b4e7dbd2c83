// user: the user directory for msg_server: user info by id (0x0204), changed users
// (0x0208), changed departments (0x0210), signature (0x0213) and avatar (0x020c) changes.
// See README.md.

#include <memory>

#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"
#include "plugins/user/change_avatar.h"
#include "plugins/user/change_sign_info.h"
#include "plugins/user/config.h"
#include "plugins/user/get_changed_users.h"
#include "plugins/user/get_departments.h"
#include "plugins/user/get_users_info.h"

namespace dbproxy::plugins::user {
namespace {

class UserPlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    auto config = LoadConfig(host);
    if (!config.ok()) {
      return config.status();
    }
    users_info_ = std::make_unique<GetUsersInfo>(host, *config);
    changed_users_ = std::make_unique<GetChangedUsers>(host, *config);
    departments_ = std::make_unique<GetDepartments>(host, *config);
    sign_info_ = std::make_unique<ChangeSignInfo>(host);
    avatar_ = std::make_unique<ChangeAvatar>(host);

    sdk::Status s = host.RegisterCommand(cid::kBuddyUserInfoReq,
                                         [this](sdk::Request& r) { users_info_->Handle(r); });
    if (s.ok()) {
      s = host.RegisterCommand(cid::kBuddyAllUserReq,
                               [this](sdk::Request& r) { changed_users_->Handle(r); });
    }
    if (s.ok()) {
      s = host.RegisterCommand(cid::kBuddyDepartmentReq,
                               [this](sdk::Request& r) { departments_->Handle(r); });
    }
    if (s.ok()) {
      s = host.RegisterCommand(cid::kBuddyChangeSignInfoReq,
                               [this](sdk::Request& r) { sign_info_->Handle(r); });
    }
    if (s.ok()) {
      s = host.RegisterCommand(cid::kBuddyChangeAvatarReq,
                               [this](sdk::Request& r) { avatar_->Handle(r); });
    }
    return s;
  }

 private:
  std::unique_ptr<GetUsersInfo> users_info_;
  std::unique_ptr<GetChangedUsers> changed_users_;
  std::unique_ptr<GetDepartments> departments_;
  std::unique_ptr<ChangeSignInfo> sign_info_;
  std::unique_ptr<ChangeAvatar> avatar_;
};

}  // namespace
}  // namespace dbproxy::plugins::user

DBP_PLUGIN("user", "1.0.0", DBP_PLUGIN_RELOADABLE, dbproxy::plugins::user::UserPlugin)
