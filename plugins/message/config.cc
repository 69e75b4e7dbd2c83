#include "plugins/message/config.h"

namespace dbproxy::plugins::message {

sdk::Result<uint32_t> CheckRange(const char* key, int64_t value, int64_t min, int64_t max) {
  if (value < min || value > max) {
    return sdk::Status(DBP_E_CONFIG,
                       sdk::StrCat(key, " must be between ", min, " and ", max, ", got ", value));
  }
  return static_cast<uint32_t>(value);
}

sdk::Result<Config> LoadConfig(sdk::Host& host) {
  Config config;
  struct Key {
    const char* name;
    uint32_t* field;
    int64_t max;
  };
  const Key keys[] = {
      {"max_msg_bytes", &config.max_msg_bytes, kMaxMsgBytesLimit},
      {"max_msg_cnt", &config.max_msg_cnt, kMaxMsgCntLimit},
      {"max_msg_ids", &config.max_msg_ids, kMaxMsgIdsLimit},
      {"send_batch_max", &config.send_batch_max, kSendBatchMaxLimit},
      {"send_concurrency", &config.send_concurrency, kSendConcurrencyLimit},
  };
  for (const Key& key : keys) {
    sdk::Result<int64_t> raw = host.ConfigInt(key.name, *key.field);
    if (!raw.ok()) {
      return raw.status();
    }
    sdk::Result<uint32_t> checked = CheckRange(key.name, *raw, 1, key.max);
    if (!checked.ok()) {
      return checked.status();
    }
    *key.field = *checked;
  }
  return config;
}

}  // namespace dbproxy::plugins::message
