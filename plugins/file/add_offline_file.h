#pragma once

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::file {

// CID_FILE_ADD_OFFLINE_REQ 0x050b, no response (DBP_CMD_NO_REPLY), spec H25. Inserts a
// pending file (from, to, file name, size, task id, status 0, created = updated = now) with
// a prepared statement on teamtalk_master. Refused (warned and counted, nothing stored):
// bodies that do not parse, file names over 255 or task ids over 128 characters (the column
// sizes, which a non-strict server would silently truncate). Storage errors are warned and
// counted (`storage_errors`).
// Thread: any worker, concurrently; no shared state.
class AddOfflineFile {
 public:
  explicit AddOfflineFile(const sdk::Host& host) : host_(host) {}
  AddOfflineFile(const AddOfflineFile&) = delete;
  AddOfflineFile& operator=(const AddOfflineFile&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::file
