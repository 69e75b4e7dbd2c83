#include "tools/bench/load_runner.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <uv.h>

#include "tools/bench/load_worker.h"
#include "tools/bench/process_usage.h"

namespace dbproxy::bench {
namespace {

constexpr double kNsPerS = 1e9;

bool Resolve(const std::string& host, uint16_t port, sockaddr_storage* out, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    *error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(out, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  return true;
}

// Runs fn on every worker, each on its own thread, and waits for all. `on_done` (if set)
// is called from each thread as it finishes.
void RunOnThreads(std::vector<std::unique_ptr<LoadWorker>>& workers,
                  const std::function<void(LoadWorker&)>& fn,
                  const std::function<void()>& on_done = {}) {
  std::vector<std::thread> threads;
  threads.reserve(workers.size());
  for (auto& worker : workers) {
    threads.emplace_back([&fn, &on_done, w = worker.get()] {
      fn(*w);
      if (on_done) {
        on_done();
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
}

std::vector<std::optional<ProcessSample>> SampleAll(const std::vector<int>& pids) {
  std::vector<std::optional<ProcessSample>> samples;
  samples.reserve(pids.size());
  for (int pid : pids) {
    samples.push_back(SampleProcess(pid));
  }
  return samples;
}

}  // namespace

bool RunBenchmark(const BenchOptions& options, Scenario& scenario, const std::atomic<bool>& stop,
                  RunResult* result, std::string* error) {
  sockaddr_storage address{};
  if (!Resolve(options.host, options.port, &address, error)) {
    return false;
  }
  result->description = scenario.Describe();

  SharedRun shared;
  shared.stop = &stop;
  std::vector<std::unique_ptr<LoadWorker>> workers;
  for (uint32_t i = 0; i < options.threads; ++i) {
    workers.push_back(std::make_unique<LoadWorker>(i, options, &scenario, &shared));
  }

  // Connections spread evenly: the first (connections % threads) workers get one more.
  {
    std::vector<std::thread> threads;
    for (uint32_t i = 0; i < options.threads; ++i) {
      const uint32_t count =
          options.connections / options.threads + (i < options.connections % options.threads);
      threads.emplace_back([&, i, count] { workers[i]->Connect(address, count); });
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
  }
  uint32_t open = 0;
  for (auto& worker : workers) {
    open += worker->open_connections();
  }
  if (open == 0) {
    ConnectionCounters counters;
    for (auto& worker : workers) {
      counters.Merge(worker->counters());
    }
    *error = "could not connect to " + options.host + ":" + std::to_string(options.port) + " (" +
             std::to_string(counters.connect_failed) + " attempts failed)";
    return false;
  }

  if (scenario.prepare_count() > 0 && !stop.load()) {
    shared.prepare_count = scenario.prepare_count();
    const uint64_t start_ns = uv_hrtime();
    RunOnThreads(workers, [](LoadWorker& worker) { worker.RunPrepare(); });
    result->prepare_s = static_cast<double>(uv_hrtime() - start_ns) / kNsPerS;
  }

  // Load: warm-up, then the measured part. The main thread samples --pids when warm-up ends
  // and again when every worker is done.
  const uint64_t start_ns = uv_hrtime();
  shared.warmup_end_ns = start_ns + static_cast<uint64_t>(options.warmup_s * kNsPerS);
  if (!options.requests) {
    shared.measure_end_ns =
        shared.warmup_end_ns + static_cast<uint64_t>(options.duration_s * kNsPerS);
  }
  shared.tickets.store(options.requests ? static_cast<int64_t>(*options.requests) : 0);

  std::mutex mutex;
  std::condition_variable finished_cv;
  size_t finished = 0;
  std::vector<std::optional<ProcessSample>> first_samples;
  uint64_t first_sample_ns = 0;
  std::thread sampler([&] {
    std::unique_lock lock(mutex);
    const auto warmup_left = std::chrono::nanoseconds(shared.warmup_end_ns - start_ns);
    finished_cv.wait_for(lock, warmup_left, [&] { return finished == workers.size(); });
    first_sample_ns = uv_hrtime();
    first_samples = SampleAll(options.pids);
  });
  RunOnThreads(
      workers, [](LoadWorker& worker) { worker.RunLoad(); },
      [&] {
        std::lock_guard lock(mutex);
        ++finished;
        finished_cv.notify_all();
      });
  sampler.join();
  const uint64_t end_ns = uv_hrtime();
  const std::vector<std::optional<ProcessSample>> last_samples = SampleAll(options.pids);

  for (size_t i = 0; i < options.pids.size(); ++i) {
    ProcessUsage usage;
    usage.pid = options.pids[i];
    usage.ok = first_samples[i].has_value() && last_samples[i].has_value();
    if (usage.ok) {
      usage.cpu_s = last_samples[i]->cpu_s - first_samples[i]->cpu_s;
      usage.rss_bytes = last_samples[i]->rss_bytes;
    }
    result->processes.push_back(usage);
  }
  result->cpu_window_s = static_cast<double>(end_ns - first_sample_ns) / kNsPerS;

  for (auto& worker : workers) {
    for (int p = 0; p < kPhaseCount; ++p) {
      result->phases[static_cast<size_t>(p)].Merge(worker->phase(static_cast<Phase>(p)));
    }
    result->connections.Merge(worker->counters());
    result->open_at_end += worker->open_connections();
  }
  const PhaseStats& measured = result->phase(Phase::kMeasure);
  if (!scenario.sends_requests()) {
    const uint64_t idle_end_ns = std::min(end_ns, shared.measure_end_ns);
    if (idle_end_ns > shared.warmup_end_ns) {
      result->measure_window_s = static_cast<double>(idle_end_ns - shared.warmup_end_ns) / kNsPerS;
    }
  } else if (measured.last_done_ns() > shared.warmup_end_ns) {
    result->measure_window_s =
        static_cast<double>(measured.last_done_ns() - shared.warmup_end_ns) / kNsPerS;
  }
  if (options.scenario == ScenarioId::kSendNew) {
    result->next_pair_offset = scenario.next_pair_offset();
  }
  result->interrupted = stop.load();

  for (auto& worker : workers) {
    worker->Shutdown();
  }
  return true;
}

}  // namespace dbproxy::bench
