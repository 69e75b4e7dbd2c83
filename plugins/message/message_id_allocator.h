#pragma once

// Message ids (msgId) of a conversation: the next id is chosen inside the transaction that
// stores the message, while that transaction holds the conversation's lock (the relation row
// or the IMGroup row, FOR UPDATE), as
//   1 + max(highest msgId stored for the conversation, Redis counter)
// (and the following messages of the same conversation in that transaction take the ids
// after it, in order)
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
#include <utility>
#include <vector>

#include "dbproxy/sdk.h"

namespace dbproxy::plugins::message {

// Redis (instance unread) sorted set of counter raises owed by transactions that stored or
// are storing messages: see MessageIdCounters::Owe().
inline constexpr const char* kOwedCounters = "dbproxy_msg_id_owed";
inline constexpr size_t kRepairBatch = 256;

// 1 + max(stored_max, counter); nullopt if that does not fit the uint32 msgId column.
std::optional<uint32_t> NextMsgId(uint64_t stored_max, uint64_t counter);

// The value of a Redis counter: a decimal integer. Negative values read as 0 (no id was
// ever handed out below 1); nullopt for anything that is not an integer.
std::optional<uint64_t> ParseCounter(std::string_view text);

// The Redis side of the id scheme: TeamTalk's counters msg_id_<rid> / group_msg_id_<gid> in
// the "unread" instance. Each call is one Redis round trip for any number of counters.
class MessageIdCounters {
 public:
  // host must outlive the object.
  explicit MessageIdCounters(const sdk::Host& host) : host_(host) {}

  // The counters' values, in the order of keys: 0 where a key is missing, holds no number,
  // or Redis cannot be read (MySQL alone then decides; logged and counted).
  std::vector<uint64_t> Read(const std::vector<std::string>& keys) const;

  // Records, before COMMIT, that the counters will be owed these ids (the sorted set
  // kOwedCounters: member = counter key, score = the highest id owed; ZADD GT, one round
  // trip). If the process dies between COMMIT and Raise(), RepairOwed() -- in this or any
  // other process sharing Redis -- still raises them, so a counter never stays below the
  // stored messages (issue 12, I5). Failures are logged and counted.
  void Owe(const std::vector<std::string>& keys, const std::vector<uint32_t>& ids) const;

  // Raises each counter to its id unless it is already higher, and drops the debts that
  // this settles (score <= id), in one EVAL for all. Returns how many counters it raised;
  // failures are logged, counted and return 0: the next allocation reads MySQL anyway.
  // REQUIRES: the messages with these ids are committed; keys.size() == ids.size().
  size_t Raise(const std::vector<std::string>& keys, const std::vector<uint32_t>& ids) const;

  // Raise() for RepairOwedCounters: raises only the counters that still owe a debt when the
  // script runs. The repair reads the stored maxima without the conversations' locks, so by
  // the time it raises, an in-doubt row it saw may have been removed and its id taken back
  // (InDoubtCommits); an unconditional raise would then put the counter past the stored rows and
  // the next message would leave a gap (I3).
  size_t RaiseOwed(const std::vector<std::string>& keys, const std::vector<uint32_t>& ids) const;

  // Up to kRepairBatch debts, oldest ids first, as (counter key, owed id).
  std::vector<std::pair<std::string, uint64_t>> Owed() const;

 private:
  size_t RaiseWith(std::string_view script, const std::vector<std::string>& keys,
                   const std::vector<uint32_t>& ids) const;

  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::message
