#pragma once

// Which requests a scenario sends, to which users, and the data it creates first.
// See UsageText() (bench_options.cc) and tools/bench/README.md for each scenario's users.

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tools/bench/bench_options.h"
#include "tools/bench/bench_request.h"

namespace dbproxy::bench {

// The unordered pairs of n users, each exactly once, in an order where neighbouring pairs
// share few users: pair k is (i, (i + d) % n) with i = k % n and d = k / n + 1, for
// d = 1 .. floor((n - 1) / 2). Indexes are 0-based offsets into the user range.
struct PairIndex {
  uint32_t a = 0;
  uint32_t b = 0;
};
uint64_t DistinctPairCount(uint32_t users);
// REQUIRES: k < DistinctPairCount(users).
PairIndex NthDistinctPair(uint32_t users, uint64_t k);

// Weights of the mixed profile, in percent (they sum to 100).
struct MixedWeights {
  static constexpr int kSend = 40;
  static constexpr int kUnread = 25;
  static constexpr int kMsgList = 20;
  static constexpr int kRecentSession = 10;
  static constexpr int kLogin = 5;
};
// The request kind for a uniform draw 0..99 under MixedWeights.
RequestKind MixedKindFor(int draw_0_to_99);

// Thread rule: every method may be called from any thread at once (the send-new pair counter
// is atomic; everything else is read-only after Create).
class Scenario {
 public:
  // Fills the scenario's defaults and checks its rules; nullptr with a one-line reason in
  // *error when the options cannot work ("send-new: --pair-offset ... exceeds ...").
  static std::unique_ptr<Scenario> Create(const BenchOptions& options, std::string* error);

  Scenario(const Scenario&) = delete;
  Scenario& operator=(const Scenario&) = delete;

  ScenarioId id() const { return id_; }
  const UserRange& users() const { return users_; }
  bool sends_requests() const { return id_ != ScenarioId::kIdle; }
  // One line for the report: "users 1-800, 400 pairs".
  std::string Describe() const;

  // Setup sent before warm-up (not measured): how many requests, and the index-th of them.
  uint64_t prepare_count() const { return prepare_count_; }
  RequestParams PrepareRequest(uint64_t index) const;

  // The next load request. False when the scenario has nothing left to send (send-new has
  // used every pair); callers stop sending.
  [[nodiscard]] bool NextRequest(std::mt19937_64& rng, RequestParams* out);

  // send-new: the --pair-offset that continues after this run without repeating a pair.
  uint64_t next_pair_offset() const;

 private:
  explicit Scenario(ScenarioId id) : id_(id) {}

  uint32_t RandomUser(std::mt19937_64& rng) const;
  // A random send-existing pair in random direction: (user_id, peer_id).
  RequestParams RandomPair(std::mt19937_64& rng, RequestKind kind) const;

  ScenarioId id_;
  UserRange users_;
  UserRange senders_;
  std::vector<uint32_t> groups_;
  uint32_t group_id_ = 0;
  uint32_t conversations_ = 0;
  uint32_t fixed_pairs_ = 0;  // (first + 2p, first + 2p + 1)
  uint64_t prepare_count_ = 0;
  uint32_t messages_per_pair_ = 1;
  uint64_t new_pairs_total_ = 0;
  std::atomic<uint64_t> next_new_pair_{0};
};

}  // namespace dbproxy::bench
