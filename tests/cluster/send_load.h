#pragma once

// Send load for the fault scenarios of issue 12 (crash, stop): what the n-th send of a client
// thread is, its wire body, and a timed record of every call, so a scenario can report
// throughput, failures and latency per phase (before / during / after its fault).
//
// The load mixes, per ten sends: seven on kPairs shared pairs (users 101.. and 201..), two
// to group kGroup (demo members 1..10) and one first contact on a pair no other thread
// uses (users 301..600 x 601..900, keyed by the thread's first_contact_base).
// Contents are unique per thread and n, as invariants.h requires.
//
// Thread rule: Timeline::Record() from any thread (a mutex); the rest are plain functions.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/cluster/invariants.h"

namespace dbproxy::testing::cluster {

using Clock = std::chrono::steady_clock;

constexpr int kPairs = 50;
constexpr uint32_t kGroup = 1;
constexpr uint16_t kMsgData = 0x0301;
constexpr uint16_t kStopReceive = 0x0702;

// The n-th send of a client thread: conversation and content (outcome still kUnanswered).
// tag names the thread in the content ("d0 t1"); first_contact_base spreads the threads'
// first contacts over distinct pairs (at most 90,000 of them in all): give thread i the
// base i * 1000; base / 1000 also staggers where the threads start on the shared pairs.
SendRecord NthSend(const std::string& tag, int n, int first_contact_base);

// The IMMsgData body of a send (msg_id 0, the text or group-text type).
std::string EncodeSend(const SendRecord& send, int n);

// The msg_id an answer body carries; nullopt if it does not parse as IMMsgData.
std::optional<uint32_t> AnsweredMsgId(std::string_view body);

// One call, timed: when it was sent and when its answer came (or the client gave up).
struct Sample {
  Clock::time_point sent;
  Clock::time_point done;
  Outcome outcome = Outcome::kUnanswered;
  int daemon = 0;
};

class Timeline {
 public:
  void Record(const Sample& sample);

  // A window of the run: [from, to).
  struct Window {
    long answered = 0;
    long zero = 0;
    long unanswered = 0;
    long max_ms = 0;  // slowest call sent in the window (an unanswered one: until given up)
    double seconds = 0;
    double per_second() const { return seconds > 0 ? answered / seconds : 0; }
  };
  // Calls sent in [from, to), optionally only those to one daemon (-1: all).
  Window Between(Clock::time_point from, Clock::time_point to, int daemon = -1) const;
  std::vector<Sample> samples() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Sample> samples_;
};

// "label: N answered (R msg/s), Z msg_id 0, U unanswered, max latency M ms" for the report.
std::string Describe(const std::string& label, const Timeline::Window& w);

}  // namespace dbproxy::testing::cluster
