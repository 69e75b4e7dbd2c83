#include "tools/bench/load_worker.h"

#include <algorithm>
#include <ctime>

namespace dbproxy::bench {
namespace {

uint64_t MsToNs(uint64_t ms) { return ms * 1'000'000; }

}  // namespace

LoadWorker::LoadWorker(uint32_t index, const BenchOptions& options, Scenario* scenario,
                       SharedRun* shared)
    : options_(options),
      scenario_(scenario),
      shared_(shared),
      rng_(options.seed * 1'000'003 + index) {
  build_settings_.msg_bytes = options.msg_bytes;
  build_settings_.list_count = options.msg_cnt;
  uv_loop_init(&loop_);
  uv_timer_init(&loop_, &tick_timer_);
  tick_timer_.data = this;
}

LoadWorker::~LoadWorker() { Shutdown(); }

void LoadWorker::Connect(const sockaddr_storage& address, uint32_t count) {
  connect_deadline_ns_ = uv_hrtime() + MsToNs(options_.timeout_ms);
  connecting_ = count;
  for (uint32_t i = 0; i < count; ++i) {
    connections_.push_back(
        std::make_unique<BenchConnection>(&loop_, this, &counters_, options_.inflight));
  }
  for (auto& connection : connections_) {
    connection->Connect(reinterpret_cast<const sockaddr*>(&address));
  }
  RunPhase(Mode::kConnecting);
}

void LoadWorker::RunPrepare() { RunPhase(Mode::kPrepare); }

void LoadWorker::RunLoad() { RunPhase(Mode::kLoad); }

void LoadWorker::RunPhase(Mode mode) {
  mode_ = mode;
  source_done_ = false;
  const uint64_t tick_ms = std::clamp<uint64_t>(options_.timeout_ms / 10, 1, 100);
  uv_timer_start(&tick_timer_, &LoadWorker::OnTick, tick_ms, tick_ms);
  if (mode != Mode::kConnecting) {
    PumpAll();
  }
  StopIfDone();
  // Returns once StopIfDone() called uv_stop (the timer keeps the loop alive until then).
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_timer_stop(&tick_timer_);
  mode_ = Mode::kIdle;
}

void LoadWorker::Shutdown() {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  for (auto& connection : connections_) {
    connection->Close();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), nullptr);
  // Runs the close callbacks; every connection reaches closed() before it is destroyed.
  uv_run(&loop_, UV_RUN_DEFAULT);
  connections_.clear();
  uv_loop_close(&loop_);
}

void LoadWorker::PumpAll() {
  for (auto& connection : connections_) {
    connection->Pump();
  }
}

void LoadWorker::StopIfDone() {
  bool done = false;
  switch (mode_) {
    case Mode::kConnecting:
      done = connecting_ == 0;
      break;
    case Mode::kPrepare:
    case Mode::kLoad:
      done = live_ == 0 && (source_done_ || sendable_ == 0);
      break;
    case Mode::kIdle:
      break;
  }
  if (done) {
    uv_stop(&loop_);
  }
}

void LoadWorker::OnTick(uv_timer_t* timer) {
  auto* self = static_cast<LoadWorker*>(timer->data);
  const uint64_t now_ns = uv_hrtime();
  if (self->mode_ == Mode::kConnecting) {
    if (now_ns >= self->connect_deadline_ns_) {
      for (auto& connection : self->connections_) {
        if (!connection->open() && !connection->closed()) {
          connection->Close();  // still connecting: counts as a failed connect
        }
      }
    }
    self->StopIfDone();
    return;
  }
  if (self->shared_->stop->load(std::memory_order_relaxed)) {
    self->source_done_ = true;
  }
  if (self->mode_ == Mode::kLoad && !self->scenario_->sends_requests() &&
      now_ns >= self->shared_->measure_end_ns) {
    self->source_done_ = true;  // idle: the phase is pure waiting
  }
  const uint64_t timeout_ns = MsToNs(self->options_.timeout_ms);
  for (auto& connection : self->connections_) {
    connection->Tick(now_ns, timeout_ns);
  }
  self->StopIfDone();
}

bool LoadWorker::NextRequest(RequestSpec* out) {
  if (source_done_ || mode_ == Mode::kIdle || mode_ == Mode::kConnecting) {
    return false;
  }
  const uint64_t now_ns = uv_hrtime();
  Phase phase = Phase::kMeasure;
  bool have = true;
  if (shared_->stop->load(std::memory_order_relaxed)) {
    have = false;
  } else if (mode_ == Mode::kPrepare) {
    const uint64_t index = shared_->prepare_next.fetch_add(1, std::memory_order_relaxed);
    have = index < shared_->prepare_count;
    if (have) {
      out->params = scenario_->PrepareRequest(index);
      phase = Phase::kPrepare;
    }
  } else if (!scenario_->sends_requests()) {
    return false;  // idle: OnTick ends the phase at measure_end_ns
  } else {
    if (now_ns < shared_->warmup_end_ns) {
      phase = Phase::kWarmup;
    } else if (shared_->measure_end_ns != 0) {
      have = now_ns < shared_->measure_end_ns;
    } else {
      have = shared_->tickets.fetch_sub(1, std::memory_order_relaxed) > 0;
    }
    have = have && scenario_->NextRequest(rng_, &out->params);
  }
  if (!have) {
    source_done_ = true;
    StopIfDone();
    return false;
  }
  out->phase = phase;
  build_settings_.now_s = static_cast<uint32_t>(std::time(nullptr));
  BuildRequest(build_settings_, out);
  phases_[static_cast<size_t>(phase)].RecordSent(out->params.kind, now_ns);
  ++live_;
  return true;
}

void LoadWorker::OnReply(const InFlight& request, const Verdict& verdict, uint64_t latency_ns,
                         uint64_t now_ns) {
  --live_;
  phases_[static_cast<size_t>(request.phase)].RecordReply(request.params.kind, verdict.failure,
                                                          verdict.items, latency_ns, now_ns);
  if (source_done_) {
    StopIfDone();
  }
}

void LoadWorker::OnNoReply(const InFlight& request, Failure failure, uint64_t now_ns) {
  --live_;
  phases_[static_cast<size_t>(request.phase)].RecordNoReply(request.params.kind, failure, now_ns);
  StopIfDone();
}

void LoadWorker::OnConnectDone(BenchConnection& /*connection*/, bool ok) {
  --connecting_;
  if (ok) {
    ++open_;
    ++sendable_;
  }
  StopIfDone();
}

void LoadWorker::OnStopSending(BenchConnection& /*connection*/) {
  --sendable_;
  StopIfDone();
}

void LoadWorker::OnClosed(BenchConnection& connection) {
  --open_;
  if (!connection.stopped_sending()) {
    --sendable_;
  }
  StopIfDone();
}

}  // namespace dbproxy::bench
