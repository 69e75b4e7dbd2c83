#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/file/config.h"

namespace dbproxy::plugins::file {

// CID_FILE_HAS_OFFLINE_REQ 0x0509 -> CID_FILE_HAS_OFFLINE_RES 0x050a (SID_FILE), spec H24.
// The pending offline files (status 0) sent to user_id, oldest first, at most
// max_offline_files: {from_user_id, task_id, file_name, file_size}. ip_addr_list is left
// empty (msg_server adds the file servers). A body that does not parse or a storage error
// answers an empty list.
// Thread: any worker, concurrently; no shared state.
class HasOfflineFiles {
 public:
  HasOfflineFiles(const sdk::Host& host, const Config& config) : host_(host), config_(config) {}
  HasOfflineFiles(const HasOfflineFiles&) = delete;
  HasOfflineFiles& operator=(const HasOfflineFiles&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
  Config config_;
};

}  // namespace dbproxy::plugins::file
