// dbproxy-bench: a load generator for TeamTalk db_proxy-compatible servers.
// Parses options, raises the open-file limit, runs the benchmark, prints the report.

#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "tools/bench/bench_options.h"
#include "tools/bench/load_runner.h"
#include "tools/bench/report.h"
#include "tools/bench/scenario.h"

namespace {

// Lock-free, so the signal handler may store to it.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnSignal(int /*signal_number*/) { g_stop.store(true); }

// Thousands of connections need as many descriptors: take the hard limit.
void RaiseOpenFileLimit(uint32_t connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);  // best effort; a shortfall shows as connect failures
  }
  if (limit.rlim_cur < connections + 64) {
    std::fprintf(stderr, "dbproxy-bench: warning: open-file limit %llu is below %u connections\n",
                 static_cast<unsigned long long>(limit.rlim_cur), connections);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dbproxy::bench;
  BenchOptions options;
  std::string error;
  if (!ParseOptions(argc, argv, &options, &error)) {
    std::fprintf(stderr, "dbproxy-bench: %s\n", error.c_str());
    return 2;
  }
  if (options.help) {
    std::fputs(UsageText().c_str(), stdout);
    return 0;
  }
  std::unique_ptr<Scenario> scenario = Scenario::Create(options, &error);
  if (!scenario) {
    std::fprintf(stderr, "dbproxy-bench: %s\n", error.c_str());
    return 2;
  }
  RaiseOpenFileLimit(options.connections);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);

  RunResult result;
  if (!RunBenchmark(options, *scenario, g_stop, &result, &error)) {
    std::fprintf(stderr, "dbproxy-bench: %s\n", error.c_str());
    return 3;
  }
  const std::string report =
      options.json ? FormatJsonReport(options, result) : FormatTextReport(options, result);
  std::fputs(report.c_str(), stdout);
  return HasFailures(result) ? 1 : 0;
}
