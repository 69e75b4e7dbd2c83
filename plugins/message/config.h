#pragma once

// Settings of the message module (YAML plugins.modules.message), read once in Init. Every
// key is declared in config_schema.yaml. A Config is a plain value: immutable after Init,
// read from any worker thread.

#include <cstdint>

#include "dbproxy/sdk.h"

namespace dbproxy::plugins::message {

struct Config {
  // Longest text msg_data (bytes) a CID_MSG_DATA may store; longer answers msg_id 0. The
  // content column is varchar(4096).
  uint32_t max_msg_bytes = 4096;
  // Most messages one CID_MSG_LIST_REQUEST answer holds (msg_cnt is capped to it).
  uint32_t max_msg_cnt = 100;
  // Most ids one CID_MSG_GET_BY_MSG_ID_REQ looks up (the rest of the list is ignored).
  uint32_t max_msg_ids = 100;
  // Group commit of CID_MSG_DATA: most sends stored in one transaction, and how many such
  // transactions run at once. Fewer, larger transactions beat many small ones on a
  // database with few cores (each COMMIT is a log flush); raise send_concurrency for a
  // database server with many.
  uint32_t send_batch_max = 128;
  uint32_t send_concurrency = 4;
};

// Bounds of each key, inclusive.
inline constexpr int64_t kMaxMsgBytesLimit = 16384;  // 4096 characters of up to 4 bytes
inline constexpr int64_t kMaxMsgCntLimit = 1000;
inline constexpr int64_t kSendBatchMaxLimit = 1024;
inline constexpr int64_t kSendConcurrencyLimit = 256;
inline constexpr int64_t kMaxMsgIdsLimit = 1000;

// Reads every key through the host and checks its range.
// Returns: the config; DBP_E_CONFIG naming the key when a value has the wrong type or is out
//          of range, e.g. "max_msg_cnt must be between 1 and 1000, got 0".
// REQUIRES: called from Init (the host answers config reads only there).
sdk::Result<Config> LoadConfig(sdk::Host& host);

// Range check of one value, shared by LoadConfig and its tests.
// Returns: the value as uint32_t, or DBP_E_CONFIG with the message above.
sdk::Result<uint32_t> CheckRange(const char* key, int64_t value, int64_t min, int64_t max);

}  // namespace dbproxy::plugins::message
