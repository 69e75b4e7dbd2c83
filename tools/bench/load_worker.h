#pragma once

// One event-loop thread's share of the run: its loop, its connections, its statistics.
// The runner drives every worker through the same phases (connect, prepare, load, shut
// down), each worker on its own thread, and joins them between phases.

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <uv.h>

#include "tools/bench/bench_connection.h"
#include "tools/bench/bench_options.h"
#include "tools/bench/request_builder.h"
#include "tools/bench/run_stats.h"
#include "tools/bench/scenario.h"

namespace dbproxy::bench {

// State every worker reads; written by the runner before the worker threads start, apart
// from the atomics. Relaxed atomics: they hand out work, they publish no other data.
struct SharedRun {
  std::atomic<uint64_t> prepare_next{0};
  uint64_t prepare_count = 0;
  uint64_t warmup_end_ns = 0;       // uv_hrtime() clock
  uint64_t measure_end_ns = 0;      // 0 when the run is bounded by a request count
  std::atomic<int64_t> tickets{0};  // measured requests left (request-count runs)
  // Set by the SIGINT handler (main.cc): stop sending, finish what is in flight.
  const std::atomic<bool>* stop = nullptr;
};

// Thread rule: its methods run on one thread at a time; Connect/RunPrepare/RunLoad/Shutdown
// each run the worker's loop on the calling thread until their work is done.
class LoadWorker : public ConnectionOwner {
 public:
  LoadWorker(uint32_t index, const BenchOptions& options, Scenario* scenario, SharedRun* shared);
  ~LoadWorker() override;
  LoadWorker(const LoadWorker&) = delete;
  LoadWorker& operator=(const LoadWorker&) = delete;

  // Opens `count` connections to address and waits until each has connected or failed
  // (at most --timeout-ms).
  void Connect(const sockaddr_storage& address, uint32_t count);
  // Sends the scenario's setup requests (shared.prepare_next) until none are left and every
  // reply is in.
  void RunPrepare();
  // Warm-up and measured load until the run's end (time, tickets or stop) and every reply
  // is in or timed out.
  void RunLoad();
  // Closes every connection and runs the loop until all handles are gone. Idempotent; the
  // destructor calls it.
  void Shutdown();

  const PhaseStats& phase(Phase p) const { return phases_[static_cast<size_t>(p)]; }
  const ConnectionCounters& counters() const { return counters_; }
  uint32_t open_connections() const { return open_; }

  // ConnectionOwner:
  bool NextRequest(RequestSpec* out) override;
  void OnReply(const InFlight& request, const Verdict& verdict, uint64_t latency_ns,
               uint64_t now_ns) override;
  void OnNoReply(const InFlight& request, Failure failure, uint64_t now_ns) override;
  void OnConnectDone(BenchConnection& connection, bool ok) override;
  void OnStopSending(BenchConnection& connection) override;
  void OnClosed(BenchConnection& connection) override;

 private:
  enum class Mode { kConnecting, kPrepare, kLoad, kIdle };

  static void OnTick(uv_timer_t* timer);
  // Starts the tick timer, pumps every connection, runs the loop until StopIfDone() stops it.
  void RunPhase(Mode mode);
  void StopIfDone();
  void PumpAll();

  const BenchOptions& options_;
  Scenario* scenario_;
  SharedRun* shared_;
  std::mt19937_64 rng_;
  BuildSettings build_settings_;
  uv_loop_t loop_{};
  uv_timer_t tick_timer_{};
  std::vector<std::unique_ptr<BenchConnection>> connections_;
  Mode mode_ = Mode::kIdle;
  bool source_done_ = false;  // the current phase has nothing more to send
  uint64_t live_ = 0;         // requests in flight over all connections
  uint32_t connecting_ = 0;
  uint32_t open_ = 0;
  uint32_t sendable_ = 0;  // open and not stopped by a 0x0702 notice
  uint64_t connect_deadline_ns_ = 0;
  std::array<PhaseStats, kPhaseCount> phases_{};
  ConnectionCounters counters_;
  bool shut_down_ = false;
};

}  // namespace dbproxy::bench
