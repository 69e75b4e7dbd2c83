// file: offline file transfers waiting for their receiver: list (0x0509), add (0x050b) and
// delete (0x050c) rows of IMTransmitFile. See README.md.

#include <memory>

#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"
#include "plugins/file/add_offline_file.h"
#include "plugins/file/config.h"
#include "plugins/file/delete_offline_file.h"
#include "plugins/file/has_offline_files.h"

namespace dbproxy::plugins::file {
namespace {

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
          cid::kFileAddOfflineReq, [this](sdk::Request& r) { add_file_->Handle(r); }, nullptr,
          DBP_CMD_NO_REPLY);
    }
    if (s.ok()) {
      s = host.RegisterCommand(
          cid::kFileDelOfflineReq, [this](sdk::Request& r) { delete_file_->Handle(r); }, nullptr,
          DBP_CMD_NO_REPLY);
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
