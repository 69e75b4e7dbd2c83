#pragma once

// Message ids (msgId) of a conversation: the next id is chosen inside the transaction that
// stores the message, while that transaction holds the conversation's lock (the relation row
// or the IMGroup row, FOR UPDATE), as
//   1 + max(highest msgId stored for the conversation, Redis counter)
// so an id is never reused, never skipped by a failure (a rolled-back insert leaves nothing
// behind), and continues after the stored maximum when Redis lost its counter (W6-W8).
// After COMMIT the Redis counter TeamTalk keeps (unread: msg_id_<rid>, group_msg_id_<gid>)
// is raised to the id, never lowered, so an original db_proxy_server sharing the data
// continues from there too.
//
// Thread: any worker; const methods only, no state beyond the host.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dbproxy/sdk.h"

namespace dbproxy::plugins::message {

// 1 + max(stored_max, counter); nullopt if that does not fit the uint32 msgId column.
std::optional<uint32_t> NextMsgId(uint64_t stored_max, uint64_t counter);

// The value of a Redis counter: a decimal integer. Negative values read as 0 (no id was
// ever handed out below 1); nullopt for anything that is not an integer.
std::optional<uint64_t> ParseCounter(std::string_view text);

class MessageIdAllocator {
 public:
  // host must outlive the allocator.
  explicit MessageIdAllocator(const sdk::Host& host) : host_(host) {}

  // The id the next message of the relation / group gets.
  // Returns: the id; the MySQL error; DBP_E_INVALID if the ids of the conversation ran out.
  // Redis being unreachable is not an error: MySQL alone then decides (logged, counted).
  // REQUIRES: conn is in the transaction that holds the conversation's lock.
  sdk::Result<uint32_t> NextSingleId(sdk::MysqlConn& conn, uint32_t relate_id) const;
  sdk::Result<uint32_t> NextGroupId(sdk::MysqlConn& conn, uint32_t group_id) const;

  // Raises the Redis counter to id unless it is already higher (one EVAL). Failures are
  // logged and counted: the next allocation reads MySQL anyway.
  // REQUIRES: the message with this id is committed.
  void RaiseSingleCounter(uint32_t relate_id, uint32_t id) const;
  void RaiseGroupCounter(uint32_t group_id, uint32_t id) const;

 private:
  sdk::Result<uint32_t> Next(uint64_t stored_max, const std::string& counter_key) const;
  // The counter's value; 0 when the key is missing or Redis cannot be read.
  uint64_t ReadCounter(const std::string& key) const;
  void RaiseCounter(const std::string& key, uint32_t id) const;

  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::message
