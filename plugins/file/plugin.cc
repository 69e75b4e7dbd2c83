// file: offline file transfers waiting for their receiver: list (0x0509), add (0x050b) and
// delete (0x050c) rows of IMTransmitFile. See README.md.

#include <memory>

#include "IM.File.pb.h"
#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"
#include "plugins/file/add_offline_file.h"
#include "plugins/file/config.h"
#include "plugins/file/delete_offline_file.h"
#include "plugins/file/has_offline_files.h"

namespace dbproxy::plugins::file {
namespace {

// Adds (0x050b) and deletes (0x050c) for one receiver run in arrival order: both have no
// answer, so msg_server may send a delete right behind its add, and the receiver's list
// (ordered by created, then id) should show files in the order they were offered. Field 2
// (to_user_id) has the same number and type in both messages, so one partial parse reads it.
uint64_t ReceiverOrderKey(const uint8_t* body, size_t len, void*) {
  IM::File::IMFileDelOfflineReq req;
  if (!req.ParsePartialFromArray(body, static_cast<int>(len)) || !req.has_to_user_id()) {
    return 0;
  }
  return 0x46494c4500000000ull | req.to_user_id();  // "FILE" in the high bits, never 0
}

class FilePlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    auto config = LoadConfig(host);
    if (!config.ok()) {
      return config.status();
    }
    has_files_ = std::make_unique<HasOfflineFiles>(host, *config);
    add_file_ = std::make_unique<AddOfflineFile>(host);
    delete_file_ = std::make_unique<DeleteOfflineFile>(host);

    sdk::Status s = host.RegisterCommand(cid::kFileHasOfflineReq,
                                         [this](sdk::Request& r) { has_files_->Handle(r); });
    if (s.ok()) {
      s = host.RegisterCommand(
          cid::kFileAddOfflineReq, [this](sdk::Request& r) { add_file_->Handle(r); },
          &ReceiverOrderKey, DBP_CMD_NO_REPLY);
    }
    if (s.ok()) {
      s = host.RegisterCommand(
          cid::kFileDelOfflineReq, [this](sdk::Request& r) { delete_file_->Handle(r); },
          &ReceiverOrderKey, DBP_CMD_NO_REPLY);
    }
    return s;
  }

 private:
  std::unique_ptr<HasOfflineFiles> has_files_;
  std::unique_ptr<AddOfflineFile> add_file_;
  std::unique_ptr<DeleteOfflineFile> delete_file_;
};

}  // namespace
}  // namespace dbproxy::plugins::file

DBP_PLUGIN("file", "1.0.0", DBP_PLUGIN_RELOADABLE, dbproxy::plugins::file::FilePlugin)
