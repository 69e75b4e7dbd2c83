// push: device tokens (0x0108), push targets for msg_server (0x0705) and the user's
// do-not-disturb flag (0x010c set, 0x010e query). See README.md.

#include <memory>

#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"
#include "plugins/push/config.h"
#include "plugins/push/get_device_tokens.h"
#include "plugins/push/query_push_shield.h"
#include "plugins/push/set_device_token.h"
#include "plugins/push/set_push_shield.h"

namespace dbproxy::plugins::push {
namespace {

class PushPlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    auto config = LoadConfig(host);
    if (!config.ok()) {
      return config.status();
    }
    set_token_ = std::make_unique<SetDeviceToken>(host);
    get_tokens_ = std::make_unique<GetDeviceTokens>(host, *config);
    set_shield_ = std::make_unique<SetPushShield>(host);
    query_shield_ = std::make_unique<QueryPushShield>(host);

    sdk::Status s = host.RegisterCommand(cid::kLoginReqDeviceToken,
                                         [this](sdk::Request& r) { set_token_->Handle(r); });
    if (s.ok()) {
      s = host.RegisterCommand(cid::kOtherGetDeviceTokenReq,
                               [this](sdk::Request& r) { get_tokens_->Handle(r); });
    }
    if (s.ok()) {
      s = host.RegisterCommand(cid::kLoginReqPushShield,
                               [this](sdk::Request& r) { set_shield_->Handle(r); });
    }
    if (s.ok()) {
      s = host.RegisterCommand(cid::kLoginReqQueryPushShield,
                               [this](sdk::Request& r) { query_shield_->Handle(r); });
    }
    return s;
  }

 private:
  std::unique_ptr<SetDeviceToken> set_token_;
  std::unique_ptr<GetDeviceTokens> get_tokens_;
  std::unique_ptr<SetPushShield> set_shield_;
  std::unique_ptr<QueryPushShield> query_shield_;
};

}  // namespace
}  // namespace dbproxy::plugins::push

DBP_PLUGIN("push", "1.0.0", DBP_PLUGIN_RELOADABLE, dbproxy::plugins::push::PushPlugin)
