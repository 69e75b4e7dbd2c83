#pragma once

// The requests one connection has in flight, keyed by the 16-bit seq their frame carries.
// Replies may come back in any order; a seq is never handed out while a request (or the
// ghost of a timed-out one, see Expire) still holds it, and 0 is never used (servers send
// heartbeats and stop notices with seq 0).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "tools/bench/bench_request.h"

namespace dbproxy::bench {

struct InFlight {
  RequestParams params;
  Phase phase = Phase::kMeasure;
  uint64_t sent_ns = 0;  // monotonic clock
  uint16_t seq = 0;
};

// Thread rule: one thread at a time (the connection's loop thread).
class InFlightTable {
 public:
  enum class TakeResult {
    kMatched,  // *out is the request this reply answers
    kLate,     // the request had already timed out; its ghost is gone now
    kUnknown,  // no request with this seq
  };

  // The highest number of live requests plus ghosts a table can hold (seqs 1..65535).
  static constexpr size_t kMaxEntries = 65535;

  InFlightTable() = default;
  InFlightTable(const InFlightTable&) = delete;
  InFlightTable& operator=(const InFlightTable&) = delete;

  // Picks a free seq after the last one handed out (wrapping 65535 -> 1), records the
  // request under it and returns the seq; nullopt when all 65535 seqs are taken.
  [[nodiscard]] std::optional<uint16_t> Insert(const RequestParams& params, Phase phase,
                                               uint64_t sent_ns);

  // Looks up and removes the request answered by a reply with this seq.
  [[nodiscard]] TakeResult Take(uint16_t seq, InFlight* out);

  // Every live request sent more than timeout_ns before now_ns times out: it is appended to
  // *expired and becomes a ghost that keeps its seq for another timeout_ns, so a late reply
  // is recognised as late instead of being matched to a newer request. Older ghosts are
  // dropped (a reply after twice the timeout counts as kUnknown).
  void Expire(uint64_t now_ns, uint64_t timeout_ns, std::vector<InFlight>* expired);

  // Removes everything; live requests are appended to *live (the connection has closed).
  void Clear(std::vector<InFlight>* live);

  size_t live() const { return live_; }
  size_t ghosts() const { return entries_.size() - live_; }

 private:
  struct Entry {
    InFlight request;
    bool ghost = false;
    uint64_t ghost_since_ns = 0;  // when the request timed out
  };

  std::unordered_map<uint16_t, Entry> entries_;
  size_t live_ = 0;
  uint16_t last_seq_ = 0;
};

}  // namespace dbproxy::bench
