#pragma once

// Counters, gauges and latency histograms, rendered in the Prometheus text format.
// Recording is lock-free (atomics) from any thread; creation of a per-command or
// per-plugin series takes a mutex once and returns a pointer that stays valid for the
// process lifetime.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace dbproxy::admin {

class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBoundsSeconds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
  void Observe(uint64_t micros);
  // Appends _bucket/_sum/_count lines for name{labels}.
  void Render(const std::string& name, const std::string& labels, std::string* out) const;

 private:
  std::array<std::atomic<uint64_t>, kBoundsSeconds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_micros_{0};
  std::atomic<uint64_t> count_{0};
};

struct CommandStats {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> errors{0};  // handler threw, or a command with a response gave none
  LatencyHistogram latency;
};

class Metrics {
 public:
  // Stable pointer for a command id; created on first use.
  CommandStats* ForCommand(uint16_t cmd_id);
  // dbproxy_plugin_events_total{module,name} += delta.
  void AddPluginCounter(const std::string& module, const std::string& name, int64_t delta);

  // Process-wide counters (relaxed: they are statistics, nothing is ordered by them).
  std::atomic<int64_t> connections{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_rejected{0};
  std::atomic<uint64_t> connections_denied{0};  // peer not in server.allow, closed at accept
  std::atomic<uint64_t> admin_denied{0};        // admin socket peer neither root nor in group
  std::atomic<uint64_t> bad_frames{0};          // closed: frame length out of 16..max_frame_bytes
  std::atomic<uint64_t> output_full_closes{0};  // closed: over max_output_buffer_bytes unread
  std::atomic<uint64_t> idle_closes{0};         // closed: nothing received for idle_timeout_ms
  std::atomic<uint64_t> frame_timeouts{0};      // closed: a frame incomplete for frame_timeout_ms
  std::atomic<uint64_t> inflight_capped{0};     // a connection reached max_inflight_per_connection
  std::atomic<uint64_t> unknown_commands{0};
  std::atomic<uint64_t> replies_dropped{0};  // connection gone before the reply was ready
  std::atomic<uint64_t> heartbeats_received{0};
  std::atomic<uint64_t> reloads_total{0};
  std::atomic<uint64_t> reload_failures{0};
  std::atomic<int> last_reload_successful{1};
  std::atomic<int64_t> last_reload_timestamp{0};
  std::atomic<uint64_t> generation{0};

  // Renders every series. extra() appends gauges read at scrape time (pools, queue).
  std::string RenderPrometheus(const std::function<void(std::string*)>& extra) const;

 private:
  mutable std::mutex mu_;
  std::map<uint16_t, std::unique_ptr<CommandStats>> commands_;  // guarded by mu_
  std::map<std::pair<std::string, std::string>, std::unique_ptr<std::atomic<int64_t>>>
      plugin_counters_;  // guarded by mu_
};

}  // namespace dbproxy::admin
