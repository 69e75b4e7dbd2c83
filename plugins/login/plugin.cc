// login: validates msg_server's login requests (CID_OTHER_VALIDATE_REQ 0x0703). See README.md.

#include <memory>

#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"
#include "plugins/login/config.h"
#include "plugins/login/validate_login.h"

namespace dbproxy::plugins::login {
namespace {

class LoginPlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    auto config = LoadConfig(host);
    if (!config.ok()) {
      return config.status();
    }
    validate_ = std::make_unique<ValidateLogin>(host, *config);
    return host.RegisterCommand(cid::kOtherValidateReq,
                                [this](sdk::Request& r) { validate_->Handle(r); });
  }

 private:
  std::unique_ptr<ValidateLogin> validate_;
};

}  // namespace
}  // namespace dbproxy::plugins::login

DBP_PLUGIN("login", "1.0.0", DBP_PLUGIN_RELOADABLE, dbproxy::plugins::login::LoginPlugin)
