#pragma once

// Read-your-writes on a replica pool (mysql.<pool>.read_your_writes): a read lent from here
// sees every commit this daemon made on the primary pool before the read began. The replica
// is asked to catch up with the primary's commit position (MASTER_GTID_WAIT, bounded by
// wait_ms); when it lags past the bound, is down, or the position is unknown, the read gets a
// connection of the primary pool instead. A replica already seen at or past the position
// costs nothing extra (no round trip): the highest position the replica reached is remembered.
// A replica that just failed to catch up is not waited for again for kLaggingBackoffMs: reads
// that would need a wait go straight to the primary, so a lagging replica does not add
// wait_ms to every read.

#include <atomic>
#include <cstdint>

#include "core/base/status.h"
#include "core/storage/mysql_connection.h"
#include "core/storage/mysql_pool.h"

namespace dbproxy::storage {

// Thread rule: Acquire, Release and stats may be called from any thread, at once. Both
// pools must outlive this object and every connection it lent.
class ReplicaReads {
 public:
  static constexpr int64_t kLaggingBackoffMs = 1000;

  struct Stats {
    uint64_t replica_reads = 0;       // reads lent a replica connection
    uint64_t primary_reads = 0;       // reads lent a primary connection (a fallback)
    uint64_t waits = 0;               // MASTER_GTID_WAIT round trips
    uint64_t wait_micros = 0;         // their total latency, successful or not
    uint64_t waits_skipped = 0;       // replica already seen at the position: no wait
    uint64_t fallback_lagging = 0;    // did not catch up within wait_ms, or did just before
    uint64_t fallback_down = 0;       // no replica connection, or the wait failed
    uint64_t fallback_untracked = 0;  // the primary cannot report GTIDs
  };

  // A lent connection and the pool it must go back to.
  struct Lease {
    MysqlPool* pool = nullptr;
    MysqlConnection* conn = nullptr;
  };

  // REQUIRES: primary->TrackCommits() was called; wait_ms > 0. With every_commit, each
  // Acquire first asks the primary for its whole position (@@gtid_binlog_pos: commits of any
  // writer, one round trip), instead of knowing only this process's commits.
  ReplicaReads(MysqlPool* replica, MysqlPool* primary, uint32_t wait_ms, bool every_commit = false);
  ReplicaReads(const ReplicaReads&) = delete;
  ReplicaReads& operator=(const ReplicaReads&) = delete;

  // Lends a connection for reads: the replica's, once it has every commit of the primary's
  // commits() taken at the start of this call; else the primary's. Blocks at most wait_ms
  // plus the pools' acquire (and connect) timeouts.
  // Returns the lease; the primary pool's Acquire error if a fallback was needed and failed.
  // Ownership: give it back with lease.pool->Release(lease.conn).
  [[nodiscard]] Result<Lease> Acquire();

  Stats stats() const;
  MysqlPool* replica() const { return replica_; }
  MysqlPool* primary() const { return primary_; }

 private:
  // Lends a primary connection, counting the fallback in *reason.
  Result<Lease> FromPrimary(std::atomic<uint64_t>* reason);
  // Merges the primary's @@gtid_binlog_pos into commits(). False if the primary is down.
  bool LearnPrimaryPosition();
  // Raises seen_version_ to version (never lowers it).
  void MarkSeen(uint64_t version);

  MysqlPool* const replica_;
  MysqlPool* const primary_;
  const double wait_seconds_;
  const bool every_commit_;
  // The primary's commits() version the replica was last seen to have applied: it has every
  // commit merged up to that version. Replication only moves forward, so this never drops.
  std::atomic<uint64_t> seen_version_{0};
  // Steady-clock ms until which reads that need a wait skip the replica (see above).
  std::atomic<int64_t> lagging_until_ms_{0};

  // Statistics (relaxed: independent counters).
  std::atomic<uint64_t> replica_reads_{0};
  std::atomic<uint64_t> primary_reads_{0};
  std::atomic<uint64_t> waits_{0};
  std::atomic<uint64_t> wait_micros_{0};
  std::atomic<uint64_t> waits_skipped_{0};
  std::atomic<uint64_t> fallback_lagging_{0};
  std::atomic<uint64_t> fallback_down_{0};
  std::atomic<uint64_t> fallback_untracked_{0};
};

}  // namespace dbproxy::storage
