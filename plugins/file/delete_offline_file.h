#pragma once

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::file {

// CID_FILE_DEL_OFFLINE_REQ 0x050c, no response (DBP_CMD_NO_REPLY), spec H26. Deletes the
// rows of (from_user_id, to_user_id, task_id) with a prepared statement on teamtalk_master
// (TeamTalk pasted the task id into the SQL text, W3). msg_server passes the client's own
// from_user_id through. Bodies that do not parse and storage errors are warned and counted.
// Thread: any worker, concurrently; no shared state.
class DeleteOfflineFile {
 public:
  explicit DeleteOfflineFile(const sdk::Host& host) : host_(host) {}
  DeleteOfflineFile(const DeleteOfflineFile&) = delete;
  DeleteOfflineFile& operator=(const DeleteOfflineFile&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::file
