#pragma once

// Runs a whole benchmark: resolves the server, spreads connections over worker threads,
// drives them through connect, prepare and load, samples the CPU of --pids over the
// measured window, and merges what the workers saw.

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/bench/bench_options.h"
#include "tools/bench/run_stats.h"
#include "tools/bench/scenario.h"

namespace dbproxy::bench {

struct ProcessUsage {
  int pid = 0;
  bool ok = false;         // false: the process could not be read at the start or the end
  double cpu_s = 0;        // CPU seconds used during the sampled window
  uint64_t rss_bytes = 0;  // at the end of the window
};

struct RunResult {
  std::string description;  // Scenario::Describe()
  std::array<PhaseStats, kPhaseCount> phases{};
  ConnectionCounters connections;
  uint32_t open_at_end = 0;
  double prepare_s = 0;         // wall time of the prepare phase
  double measure_window_s = 0;  // from the end of warm-up to the last measured completion
  double cpu_window_s = 0;      // between the two samples of --pids
  std::vector<ProcessUsage> processes;
  std::optional<uint64_t> next_pair_offset;  // send-new only
  bool interrupted = false;

  const PhaseStats& phase(Phase p) const { return phases[static_cast<size_t>(p)]; }
};

// Runs the benchmark described by options. `stop` may be set from a signal handler to end
// the run early (what was measured is still reported). False with *error when the run
// could not happen at all: unresolvable host, or no connection could be opened.
[[nodiscard]] bool RunBenchmark(const BenchOptions& options, Scenario& scenario,
                                const std::atomic<bool>& stop, RunResult* result,
                                std::string* error);

}  // namespace dbproxy::bench
