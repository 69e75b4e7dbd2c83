#include "tools/bench/in_flight_table.h"

namespace dbproxy::bench {

std::optional<uint16_t> InFlightTable::Insert(const RequestParams& params, Phase phase,
                                              uint64_t sent_ns) {
  if (entries_.size() >= kMaxEntries) {
    return std::nullopt;
  }
  // At least one of the 65535 candidates is free, so this loop ends.
  uint16_t seq = last_seq_;
  do {
    seq = seq == 0xffff ? 1 : static_cast<uint16_t>(seq + 1);
  } while (entries_.contains(seq));
  last_seq_ = seq;
  Entry& entry = entries_[seq];
  entry.request = InFlight{params, phase, sent_ns, seq};
  ++live_;
  return seq;
}

InFlightTable::TakeResult InFlightTable::Take(uint16_t seq, InFlight* out) {
  auto it = entries_.find(seq);
  if (it == entries_.end()) {
    return TakeResult::kUnknown;
  }
  TakeResult result = TakeResult::kLate;
  if (!it->second.ghost) {
    *out = it->second.request;
    --live_;
    result = TakeResult::kMatched;
  }
  entries_.erase(it);
  return result;
}

void InFlightTable::Expire(uint64_t now_ns, uint64_t timeout_ns, std::vector<InFlight>* expired) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& entry = it->second;
    if (entry.ghost) {
      if (now_ns - entry.ghost_since_ns > timeout_ns) {
        it = entries_.erase(it);
        continue;
      }
    } else if (now_ns - entry.request.sent_ns > timeout_ns) {
      expired->push_back(entry.request);
      entry.ghost = true;
      entry.ghost_since_ns = now_ns;
      --live_;
    }
    ++it;
  }
}

void InFlightTable::Clear(std::vector<InFlight>* live) {
  for (auto& [seq, entry] : entries_) {
    if (!entry.ghost) {
      live->push_back(entry.request);
    }
  }
  entries_.clear();
  live_ = 0;
}

}  // namespace dbproxy::bench
