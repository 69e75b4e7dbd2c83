// session: recent sessions (0x0201 list, 0x0206 remove) kept up to date from the
// "message.stored" event. See README.md.

#include <memory>

#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/events.h"
#include "plugins/session/config.h"
#include "plugins/session/get_recent_sessions.h"
#include "plugins/session/group_session_flusher.h"
#include "plugins/session/remove_session.h"
#include "plugins/session/session_store.h"
#include "plugins/session/session_updater.h"
#include "plugins/session/session_write_behind.h"

namespace dbproxy::plugins::session {
namespace {

class SessionPlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    auto config = LoadConfig(host);
    if (!config.ok()) {
      return config.status();
    }
    config_ = std::make_unique<Config>(std::move(*config));
    store_ = std::make_unique<SessionStore>(host);
    flusher_ = std::make_unique<GroupSessionFlusher>(host, *store_);
    writer_ = std::make_unique<SessionWriteBehind>(host, *store_, config_->session_write_delay_ms);
    updater_ = std::make_unique<SessionUpdater>(host, *writer_, *flusher_);
    list_ = std::make_unique<GetRecentSessions>(host, *config_, *store_, *writer_);
    remove_ = std::make_unique<RemoveSession>(host, *store_, *writer_);

    sdk::Status s = host.RegisterCommand(cid::kBuddyRecentSessionReq,
                                         [this](sdk::Request& r) { list_->Handle(r); });
    if (s.ok()) {
      s = host.RegisterCommand(cid::kBuddyRemoveSessionReq,
                               [this](sdk::Request& r) { remove_->Handle(r); });
    }
    if (s.ok()) {
      s = host.Subscribe(events::kMessageStored, [this](std::string_view, std::string_view data) {
        updater_->OnMessageStored(data);
      });
    }
    if (s.ok()) {
      s = host.AddTimer(config_->group_session_flush_ms, [this] { flusher_->Flush(); });
    }
    if (s.ok() && writer_->write_behind()) {
      s = host.AddTimer(config_->session_write_delay_ms, [this] { writer_->Flush(); });
    }
    return s;
  }

  // After the last handler (reload or stop; the pools are still open): nothing pending may
  // be left behind.
  void Shutdown() override {
    if (writer_) {
      writer_->Flush(/*final=*/true);
    }
  }

 private:
  std::unique_ptr<Config> config_;
  std::unique_ptr<SessionStore> store_;
  std::unique_ptr<GroupSessionFlusher> flusher_;
  std::unique_ptr<SessionWriteBehind> writer_;
  std::unique_ptr<SessionUpdater> updater_;
  std::unique_ptr<GetRecentSessions> list_;
  std::unique_ptr<RemoveSession> remove_;
};

}  // namespace
}  // namespace dbproxy::plugins::session

DBP_PLUGIN("session", "1.0.0", DBP_PLUGIN_RELOADABLE, dbproxy::plugins::session::SessionPlugin)
