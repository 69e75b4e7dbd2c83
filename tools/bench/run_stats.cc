#include "tools/bench/run_stats.h"

#include <algorithm>

namespace dbproxy::bench {

uint64_t KindStats::failed() const {
  uint64_t total = 0;
  for (uint64_t n : failures) {
    total += n;
  }
  return total;
}

void KindStats::Merge(const KindStats& other) {
  sent += other.sent;
  ok += other.ok;
  for (size_t i = 0; i < failures.size(); ++i) {
    failures[i] += other.failures[i];
  }
  items += other.items;
  latency.Merge(other.latency);
}

void PhaseStats::RecordSent(RequestKind kind, uint64_t now_ns) {
  ++kinds_[static_cast<size_t>(kind)].sent;
  if (first_sent_ns_ == 0) {
    first_sent_ns_ = now_ns;
  }
}

void PhaseStats::RecordReply(RequestKind kind, Failure failure, uint32_t items, uint64_t latency_ns,
                             uint64_t now_ns) {
  KindStats& stats = kinds_[static_cast<size_t>(kind)];
  stats.latency.Record(latency_ns);
  if (failure == Failure::kNone) {
    ++stats.ok;
    stats.items += items;
  } else {
    ++stats.failures[static_cast<size_t>(failure)];
  }
  last_done_ns_ = std::max(last_done_ns_, now_ns);
}

void PhaseStats::RecordNoReply(RequestKind kind, Failure failure, uint64_t now_ns) {
  ++kinds_[static_cast<size_t>(kind)].failures[static_cast<size_t>(failure)];
  last_done_ns_ = std::max(last_done_ns_, now_ns);
}

void PhaseStats::Merge(const PhaseStats& other) {
  for (size_t i = 0; i < kinds_.size(); ++i) {
    kinds_[i].Merge(other.kinds_[i]);
  }
  if (other.first_sent_ns_ != 0 && (first_sent_ns_ == 0 || other.first_sent_ns_ < first_sent_ns_)) {
    first_sent_ns_ = other.first_sent_ns_;
  }
  last_done_ns_ = std::max(last_done_ns_, other.last_done_ns_);
}

KindStats PhaseStats::Total() const {
  KindStats total;
  for (const KindStats& k : kinds_) {
    total.Merge(k);
  }
  return total;
}

void ConnectionCounters::Merge(const ConnectionCounters& other) {
  opened += other.opened;
  connect_failed += other.connect_failed;
  closed_by_peer += other.closed_by_peer;
  broken_streams += other.broken_streams;
  heartbeats_received += other.heartbeats_received;
  heartbeats_sent += other.heartbeats_sent;
  stop_notices += other.stop_notices;
  late_replies += other.late_replies;
  unknown_replies += other.unknown_replies;
  seq_exhausted += other.seq_exhausted;
}

}  // namespace dbproxy::bench
