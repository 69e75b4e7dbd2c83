#pragma once

// What happened during one phase of a run (prepare, warmup or measure), per request kind,
// plus the connection-level events of the whole run. Workers keep their own and the runner
// merges them once the worker threads are joined.

#include <array>
#include <cstdint>

#include "tools/bench/bench_request.h"
#include "tools/bench/latency_recorder.h"

namespace dbproxy::bench {

struct KindStats {
  uint64_t sent = 0;
  uint64_t ok = 0;
  std::array<uint64_t, kFailureCount> failures{};  // indexed by Failure; [kNone] stays 0
  uint64_t items = 0;                              // sum of Verdict::items over good replies
  LatencyRecorder latency;  // every reply received (good or not); timeouts have none

  uint64_t failed() const;
  void Merge(const KindStats& other);
};

// Thread rule: one thread at a time.
class PhaseStats {
 public:
  void RecordSent(RequestKind kind, uint64_t now_ns);
  // A reply arrived: latency is recorded, then the verdict counted.
  void RecordReply(RequestKind kind, Failure failure, uint32_t items, uint64_t latency_ns,
                   uint64_t now_ns);
  // The request ended without a reply (kTimeout, kMissingReply).
  void RecordNoReply(RequestKind kind, Failure failure, uint64_t now_ns);
  void Merge(const PhaseStats& other);

  const KindStats& kind(RequestKind k) const { return kinds_[static_cast<size_t>(k)]; }
  // All kinds together.
  KindStats Total() const;
  uint64_t first_sent_ns() const { return first_sent_ns_; }  // 0 if nothing was sent
  uint64_t last_done_ns() const { return last_done_ns_; }    // last reply, timeout or loss

 private:
  std::array<KindStats, kRequestKindCount> kinds_{};
  uint64_t first_sent_ns_ = 0;
  uint64_t last_done_ns_ = 0;
};

// Connection-level events of a run.
struct ConnectionCounters {
  uint64_t opened = 0;
  uint64_t connect_failed = 0;
  uint64_t closed_by_peer = 0;  // EOF or error while the run was going
  uint64_t broken_streams = 0;  // a frame length the reader cannot accept
  uint64_t heartbeats_received = 0;
  uint64_t heartbeats_sent = 0;  // answers, plus our own when a connection was idle
  uint64_t stop_notices = 0;     // 0x0702 from a stopping server
  uint64_t late_replies = 0;     // replies to requests that had timed out
  uint64_t unknown_replies = 0;  // replies with a seq nothing was sent with
  uint64_t seq_exhausted = 0;    // sends skipped because 65535 seqs were in use

  void Merge(const ConnectionCounters& other);
};

}  // namespace dbproxy::bench
