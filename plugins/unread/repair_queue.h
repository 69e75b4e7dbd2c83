#pragma once

// The durable repair queue for unread counters (I6): a message is stored in MySQL before its
// counter is raised in Redis, so when Redis cannot be reached after the COMMIT the increment
// would be lost. Instead it is recorded in MySQL (teamtalk_master, table
// dbproxy_unread_repair, etc/schema.sql) and replayed into Redis by a timer once Redis
// answers again, then deleted.
//
// Replays are idempotent per message (UnreadCounters::AddOnce), so a replay whose answer was
// lost, a crash between the Redis write and the DELETE, or two daemons sharing the queue
// count every message once. Any daemon replays every row, so rows left by a daemon that died
// are replayed by the others (or by its successor at start).
//
// What it cannot repair: a failure of MySQL at the same moment as Redis (the row cannot be
// written; logged and counted as counter_errors, as before), and a command that fails on
// its own (a key of the wrong type: a data problem that retrying does not cure). The table
// is TeamTalk-neutral: an original db_proxy_server on the same database ignores it.
//
// Thread: any worker. Enqueue runs concurrently; Replay runs from one timer, which the host
// never overlaps with itself.

#include <atomic>
#include <cstdint>
#include <vector>

#include "dbproxy/sdk/plugin.h"
#include "plugins/unread/unread_counters.h"

namespace dbproxy::plugins::unread {

class RepairQueue {
 public:
  // host and counters must outlive the queue.
  // idle_look_ms: how often the table is read while this process queued nothing (rows
  // other daemons left behind).
  RepairQueue(const sdk::Host& host, const UnreadCounters& counters, uint32_t idle_look_ms)
      : host_(host), counters_(counters), idle_look_ms_(idle_look_ms) {}

  // Records the increments (msg_id set) in MySQL. Creates the table if it is missing.
  // Returns the MySQL error if nothing could be recorded (then none of them was).
  // Must be called with no teamtalk_master connection held by the caller.
  sdk::Status Enqueue(const std::vector<UnreadCounters::Increment>& increments);

  // Replays queued rows, oldest first, at most kMaxRowsPerReplay per call, and deletes what
  // Redis took. Does nothing (no query) while nothing was queued by this process since its
  // last empty look, except once every idle_look_ms, to pick up rows other daemons left.
  void Replay();

  static constexpr uint32_t kMaxRowsPerReplay = 2048;

 private:
  // Replays one chunk of at most `limit` rows. Returns the rows read, or -1 on an error
  // (logged) that makes it pointless to go on now.
  int ReplayChunk(uint32_t limit);
  sdk::Status EnsureTable(sdk::MysqlConn& conn);

  const sdk::Host& host_;
  const UnreadCounters& counters_;
  const uint32_t idle_look_ms_;
  std::atomic<bool> pending_{true};  // rows may be waiting (true at start: look once)
  std::atomic<bool> table_ready_{false};
  std::atomic<uint64_t> last_look_ms_{0};  // steady clock of the last look at the table
};

}  // namespace dbproxy::plugins::unread
