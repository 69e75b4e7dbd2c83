#include "core/storage/replica_reads.h"

#include <chrono>
#include <memory>
#include <string>

#include "core/base/log.h"
#include "core/storage/clock.h"

namespace dbproxy::storage {

ReplicaReads::ReplicaReads(MysqlPool* replica, MysqlPool* primary, uint32_t wait_ms,
                           bool every_commit)
    : replica_(replica),
      primary_(primary),
      wait_seconds_(wait_ms / 1000.0),
      every_commit_(every_commit) {}

bool ReplicaReads::LearnPrimaryPosition() {
  Result<MysqlConnection*> conn = primary_->Acquire();
  if (!conn.ok()) {
    return false;
  }
  std::unique_ptr<MysqlResultSet> result;
  Status asked = (*conn)->Execute("SELECT @@gtid_binlog_pos", nullptr, 0, &result);
  primary_->Release(*conn);
  const char* cell = nullptr;
  size_t len = 0;
  if (!asked.ok() || !result->Cell(0, 0, &cell, &len)) {
    return false;
  }
  return primary_->commits()->Merge(std::string_view(cell, len)).ok();
}

Result<ReplicaReads::Lease> ReplicaReads::FromPrimary(std::atomic<uint64_t>* reason) {
  reason->fetch_add(1, std::memory_order_relaxed);
  Result<MysqlConnection*> conn = primary_->Acquire();
  if (!conn.ok()) {
    return conn.status();
  }
  primary_reads_.fetch_add(1, std::memory_order_relaxed);
  return Lease{primary_, *conn};
}

void ReplicaReads::MarkSeen(uint64_t version) {
  uint64_t seen = seen_version_.load(std::memory_order_relaxed);
  while (seen < version &&
         !seen_version_.compare_exchange_weak(seen, version, std::memory_order_relaxed)) {
  }
}

Result<ReplicaReads::Lease> ReplicaReads::Acquire() {
  GtidPosition* commits = primary_->commits();
  if (commits == nullptr || (!every_commit_ && primary_->commits_untracked())) {
    return FromPrimary(&fallback_untracked_);
  }
  if (every_commit_ && !LearnPrimaryPosition()) {
    return FromPrimary(&fallback_untracked_);
  }
  if (commits->version() > seen_version_.load(std::memory_order_relaxed) &&
      SteadyNowMs() < lagging_until_ms_.load(std::memory_order_relaxed)) {
    return FromPrimary(&fallback_lagging_);
  }
  Result<MysqlConnection*> acquired = replica_->Acquire();
  if (!acquired.ok()) {
    return FromPrimary(&fallback_down_);
  }
  MysqlConnection* conn = *acquired;
  // A replica that went away while the connection sat idle is found here (no round trip),
  // not by the caller's first statement.
  if (!conn->EnsureOpen().ok()) {
    replica_->Release(conn);
    return FromPrimary(&fallback_down_);
  }
  // The position is read after the replica connection was obtained, so that it includes
  // every commit the caller completed before calling.
  if (commits->version() <= seen_version_.load(std::memory_order_relaxed)) {
    waits_skipped_.fetch_add(1, std::memory_order_relaxed);
    replica_reads_.fetch_add(1, std::memory_order_relaxed);
    return Lease{replica_, conn};
  }
  const GtidPosition::Snapshot position = commits->Get();
  dbp_value_t params[2] = {};
  params[0].type = DBP_VALUE_BYTES;
  params[0].data = position.text.data();
  params[0].len = position.text.size();
  params[1].type = DBP_VALUE_DOUBLE;
  params[1].f64 = wait_seconds_;
  std::unique_ptr<MysqlResultSet> result;
  const auto start = std::chrono::steady_clock::now();
  Status waited = conn->Execute("SELECT MASTER_GTID_WAIT(?, ?)", params, 2, &result);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  waits_.fetch_add(1, std::memory_order_relaxed);
  wait_micros_.fetch_add(static_cast<uint64_t>(micros), std::memory_order_relaxed);
  if (!waited.ok()) {
    log::Get("storage.mysql")
        ->debug("pool {}: MASTER_GTID_WAIT failed, reading from {}: {}", replica_->name(),
                primary_->name(), waited.message());
    replica_->Release(conn);
    return FromPrimary(&fallback_down_);
  }
  const char* cell = nullptr;
  size_t len = 0;
  // 0: reached; -1: timed out; NULL: the server could not wait (e.g. a bad position).
  if (result->Cell(0, 0, &cell, &len) && std::string_view(cell, len) == "0") {
    MarkSeen(position.version);
    replica_reads_.fetch_add(1, std::memory_order_relaxed);
    return Lease{replica_, conn};
  }
  replica_->Release(conn);
  lagging_until_ms_.store(SteadyNowMs() + kLaggingBackoffMs, std::memory_order_relaxed);
  log::Get("storage.mysql")
      ->debug("pool {}: replica not at {} within {} s; reading from {}", replica_->name(),
              position.text, wait_seconds_, primary_->name());
  return FromPrimary(&fallback_lagging_);
}

ReplicaReads::Stats ReplicaReads::stats() const {
  Stats s;
  s.replica_reads = replica_reads_.load(std::memory_order_relaxed);
  s.primary_reads = primary_reads_.load(std::memory_order_relaxed);
  s.waits = waits_.load(std::memory_order_relaxed);
  s.wait_micros = wait_micros_.load(std::memory_order_relaxed);
  s.waits_skipped = waits_skipped_.load(std::memory_order_relaxed);
  s.fallback_lagging = fallback_lagging_.load(std::memory_order_relaxed);
  s.fallback_down = fallback_down_.load(std::memory_order_relaxed);
  s.fallback_untracked = fallback_untracked_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace dbproxy::storage
