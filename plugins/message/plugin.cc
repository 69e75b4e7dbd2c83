// The message module: stores and reads chat messages (spec H10, H11, H14, H15).
//   0x0301 CID_MSG_DATA                   -> 0x0301, ordered per conversation, batched
//   0x0309 CID_MSG_LIST_REQUEST           -> 0x030a
//   0x030d CID_MSG_GET_BY_MSG_ID_REQ      -> 0x030e
//   0x030b CID_MSG_GET_LATEST_MSG_ID_REQ  -> 0x030c
// Publishes events::kMessageStored after every committed message. See README.md.

#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"
#include "plugins/message/config.h"
#include "plugins/message/get_latest_msg_id.h"
#include "plugins/message/get_message_by_id.h"
#include "plugins/message/get_message_list.h"
#include "plugins/message/order_key.h"
#include "plugins/message/send_message.h"

namespace dbproxy::plugins::message {
namespace {

// Holds only the config and the host, both fixed after Init: handlers share it read-only.
class MessagePlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    host_ = &host;
    sdk::Result<Config> config = LoadConfig(host);
    if (!config.ok()) {
      return config.status();
    }
    config_ = *config;

    using Handle = void (*)(const sdk::Host&, const Config&, sdk::Request&);
    struct Command {
      uint16_t cmd_id;
      Handle handle;
      dbp_order_key_fn order_key;
    };
    const Command commands[] = {
        {cid::kMsgListReq, &HandleGetMessageList, nullptr},
        {cid::kMsgGetByMsgIdReq, &HandleGetMessageById, nullptr},
        {cid::kMsgGetLatestMsgIdReq,
         [](const sdk::Host& h, const Config&, sdk::Request& r) { HandleGetLatestMsgId(h, r); },
         nullptr},
    };
    for (const Command& c : commands) {
      sdk::Status s = host.RegisterCommand(
          c.cmd_id, [this, handle = c.handle](sdk::Request& r) { handle(*host_, config_, r); },
          c.order_key);
      if (!s.ok()) {
        return s;
      }
    }
    // CID_MSG_DATA is a batch command: the queued sends are stored with one commit.
    sdk::Status s = host.RegisterBatchCommand(
        cid::kMsgData,
        [this](std::span<sdk::Request> requests) { HandleSendMessages(*host_, config_, requests); },
        config_.send_batch_max, config_.send_concurrency, &ConversationOrderKey);
    if (!s.ok()) {
      return s;
    }
    host.Info("message module ready: max_msg_bytes=", config_.max_msg_bytes,
              " max_msg_cnt=", config_.max_msg_cnt, " max_msg_ids=", config_.max_msg_ids,
              " send_batch_max=", config_.send_batch_max,
              " send_concurrency=", config_.send_concurrency);
    return sdk::Status();
  }

 private:
  const sdk::Host* host_ = nullptr;
  Config config_;
};

}  // namespace
}  // namespace dbproxy::plugins::message

DBP_PLUGIN("message", "1.0.0", DBP_PLUGIN_RELOADABLE, dbproxy::plugins::message::MessagePlugin)
