#pragma once

// The SQL of the file module on IMTransmitFile (etc/schema.sql; TeamTalk's schema lacked the
// table, W38). Prepared statements only (W3): names and task ids are stored verbatim.
// Thread: any worker; each call takes and releases one pooled connection.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::file {

struct OfflineFile {
  uint32_t from_user_id = 0;
  std::string task_id;
  std::string file_name;
  uint32_t file_size = 0;
};

// Pending files (status 0) for a receiver, oldest first (created, then id), at most limit.
// teamtalk_slave.
sdk::Result<std::vector<OfflineFile>> ListPending(const sdk::Host& host, uint32_t to_user_id,
                                                  size_t limit);

// Inserts a pending file (status 0, created = updated = now). teamtalk_master.
sdk::Status AddPending(const sdk::Host& host, uint32_t from_user_id, uint32_t to_user_id,
                       const OfflineFile& file, uint32_t now);

// Deletes the rows of (from, to, task id). Returns the number deleted. teamtalk_master.
sdk::Result<uint64_t> DeletePending(const sdk::Host& host, uint32_t from_user_id,
                                    uint32_t to_user_id, std::string_view task_id);

}  // namespace dbproxy::plugins::file
