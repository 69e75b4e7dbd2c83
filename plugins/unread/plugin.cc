// unread: unread counters (0x0307 list, 0x0303 read ack) kept up to date from the
// "message.stored" event. See README.md.

#include <memory>

#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/events.h"
#include "plugins/unread/config.h"
#include "plugins/unread/counter_updater.h"
#include "plugins/unread/get_unread_count.h"
#include "plugins/unread/read_ack.h"
#include "plugins/unread/repair_queue.h"
#include "plugins/unread/unread_counters.h"

namespace dbproxy::plugins::unread {
namespace {

// Most 0x0307 requests answered together.
constexpr uint32_t kMaxListBatch = 64;

class UnreadPlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    auto config = LoadConfig(host);
    if (!config.ok()) {
      return config.status();
    }
    config_ = std::make_unique<Config>(std::move(*config));
    counters_ = std::make_unique<UnreadCounters>(host);
    // Rows other daemons left are looked for every 30 replay intervals (30 s by default).
    repair_ = std::make_unique<RepairQueue>(host, *counters_, 30 * config_->repair_interval_ms);
    updater_ = std::make_unique<CounterUpdater>(host, *counters_, *repair_);
    list_ = std::make_unique<GetUnreadCount>(host, *config_, *counters_);
    read_ack_ = std::make_unique<ReadAck>(host, *counters_);

    // A batch command: queued lists share their MySQL and Redis round trips.
    sdk::Status s = host.RegisterBatchCommand(
        cid::kMsgUnreadCntReq,
        [this](std::span<sdk::Request> requests) { list_->HandleBatch(requests); }, kMaxListBatch,
        /*max_running=*/0);
    if (s.ok()) {
      s = host.RegisterCommand(
          cid::kMsgReadAck, [this](sdk::Request& r) { read_ack_->Handle(r); }, nullptr,
          DBP_CMD_NO_REPLY);
    }
    if (s.ok()) {
      s = host.Subscribe(events::kMessageStored, [this](std::string_view, std::string_view data) {
        updater_->OnMessageStored(data);
      });
    }
    if (s.ok()) {
      s = host.AddTimer(config_->repair_interval_ms, [this] { repair_->Replay(); });
    }
    return s;
  }

 private:
  std::unique_ptr<Config> config_;
  std::unique_ptr<UnreadCounters> counters_;
  std::unique_ptr<RepairQueue> repair_;
  std::unique_ptr<CounterUpdater> updater_;
  std::unique_ptr<GetUnreadCount> list_;
  std::unique_ptr<ReadAck> read_ack_;
};

}  // namespace
}  // namespace dbproxy::plugins::unread

DBP_PLUGIN("unread", "1.0.0", DBP_PLUGIN_RELOADABLE, dbproxy::plugins::unread::UnreadPlugin)
