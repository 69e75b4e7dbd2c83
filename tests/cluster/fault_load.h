#pragma once

// Client load for the outage scenarios of issue 12 (tests/cluster): threads that keep
// sending and asking while a test stops, kills or empties a server under them, recording
// every send in a Ledger (invariants.h) and every operation in a timeline the test slices
// into before / during / after the fault.
//
// Each thread owns its pairs (users first_user + p and first_user + 100 + p), so it alone
// writes them and can judge the answers about them exactly; all threads share one group.
// The operations, in a fixed rotation per thread:
//   pair send (0x0301, both directions), group send (0x0301 to the group),
//   0x0307 unread count of one of its users: with exact_unread, success is the exact count
//     of its peer's stored messages (no read acks are sent during the load), judged only
//     while every send of that pair was answered; without, any non-empty answer (the user
//     has just been sent six messages);
//   0x0201 recent sessions of one of its users: success lists the peer, judged once a
//     message of that pair is stored.
// An answer that is neither the command's failure value (msg_id 0, total 0 and no entries,
// an empty list) nor the right success is a problem, reported by problems().
//
// Thread rule: Start/Stop/read from the test thread; the load threads share only the Ledger
// (which has its own mutex) and the timeline (a mutex here).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/invariants.h"

namespace dbproxy::testing::cluster {

using Clock = std::chrono::steady_clock;

enum class OpKind { kPairSend, kGroupSend, kUnreadCount, kSessionList };

struct Op {
  OpKind kind = OpKind::kPairSend;
  Clock::time_point started;
  Clock::time_point finished;
  bool answered = false;   // a parsable answer came back within the call timeout
  bool succeeded = false;  // the command's success (for sends: msg_id > 0)
};

struct FaultLoadOptions {
  uint16_t port = 0;  // the dbproxyd
  int threads = 4;
  int pairs_per_thread = 5;
  uint32_t first_user = 401;  // pairs (first_user + p, first_user + 100 + p)
  uint32_t group = 1;         // demo group 1: members 1..10
  uint32_t group_members = 10;
  bool exact_unread = true;  // judge 0x0307 counts (off when Redis loses its data)
  int call_timeout_ms = 20000;
};

// What the operations that started in a window did.
struct WindowStats {
  double seconds = 0;
  long ops = 0;
  long sends_stored = 0;  // sends answered msg_id > 0
  long failed = 0;        // operations answered with their failure value, or not at all
  long unanswered = 0;
  long max_ms = 0;

  double stored_per_second() const { return seconds > 0 ? sends_stored / seconds : 0; }
  std::string Describe() const;  // "600 ops (200/s), 412 sends stored (137.1/s), 0 failed, ..."
};

class FaultLoad {
 public:
  FaultLoad(FaultLoadOptions options, Ledger* ledger) : options_(options), ledger_(ledger) {}
  ~FaultLoad() { Stop(); }
  FaultLoad(const FaultLoad&) = delete;
  FaultLoad& operator=(const FaultLoad&) = delete;

  void Start();
  void Stop();  // asks the threads to finish their current call and joins them

  // Operations that started in [from, to), or (by_finish) finished in it: "before a fault"
  // wants the operations that were over when it began.
  WindowStats Window(Clock::time_point from, Clock::time_point to, bool by_finish = false) const;
  // The slowest operation that was in flight at some moment of [from, to), in ms.
  long MaxLatencyOverlapping(Clock::time_point from, Clock::time_point to) const;
  // The first operation of `kind` that started at or after `from` and succeeded; nullopt
  // if none did.
  std::optional<Clock::time_point> FirstSuccess(OpKind kind, Clock::time_point from) const;
  // Operations that started in [from, to) and did not succeed.
  long FailuresBetween(Clock::time_point from, Clock::time_point to) const;
  std::vector<Op> ops() const;
  std::vector<std::string> problems() const;

  uint32_t group() const { return options_.group; }
  uint32_t group_members() const { return options_.group_members; }

 private:
  void Run(int thread);
  void Record(const Op& op);
  void Problem(std::string text);

  const FaultLoadOptions options_;
  Ledger* ledger_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::vector<Op> ops_;                // GUARDED_BY(mutex_)
  std::vector<std::string> problems_;  // GUARDED_BY(mutex_)
  Clock::time_point started_;
};

// Every member of the group marks it read up to its highest stored msgId (0x0303, no answer)
// and the ledger records it: the quiescent read invariants.h wants after concurrent group
// sends. Returns once Redis shows every read applied (or fails the test after 10 s).
// REQUIRES: the load is stopped.
void ReadGroupAsEveryMember(uint16_t port, TestDatabase& db, TestRedis& redis, Ledger* ledger,
                            uint32_t group, uint32_t members);

// One group text message (0x0301) over a fresh connection, recorded in the ledger; its
// msg_id (0 when not stored or not answered).
uint32_t SendGroupMessage(uint16_t port, Ledger* ledger, uint32_t group, uint32_t from,
                          const std::string& content);

}  // namespace dbproxy::testing::cluster
