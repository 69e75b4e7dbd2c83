#include "core/admin/metrics.h"

#include <cstdio>

namespace dbproxy::admin {
namespace {

void Line(std::string* out, const std::string& name, const std::string& labels, double value) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.17g", value);
  out->append(name);
  if (!labels.empty()) {
    out->append("{").append(labels).append("}");
  }
  out->append(" ").append(buf).append("\n");
}

void Help(std::string* out, const char* name, const char* type, const char* help) {
  out->append("# HELP ").append(name).append(" ").append(help).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

std::string CmdLabel(uint16_t cmd) {
  char buf[32];
  snprintf(buf, sizeof(buf), "cmd=\"0x%04x\"", cmd);
  return buf;
}

}  // namespace

void LatencyHistogram::Observe(uint64_t micros) {
  double seconds = static_cast<double>(micros) / 1e6;
  size_t i = 0;
  while (i < kBoundsSeconds.size() && seconds > kBoundsSeconds[i]) {
    ++i;
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(micros, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void LatencyHistogram::Render(const std::string& name, const std::string& labels,
                              std::string* out) const {
  uint64_t cumulative = 0;
  std::string prefix = labels.empty() ? "" : labels + ",";
  for (size_t i = 0; i < kBoundsSeconds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    char le[48];
    snprintf(le, sizeof(le), "le=\"%g\"", kBoundsSeconds[i]);
    Line(out, name + "_bucket", prefix + le, static_cast<double>(cumulative));
  }
  cumulative += buckets_[kBoundsSeconds.size()].load(std::memory_order_relaxed);
  Line(out, name + "_bucket", prefix + "le=\"+Inf\"", static_cast<double>(cumulative));
  Line(out, name + "_sum", labels, static_cast<double>(sum_micros_.load()) / 1e6);
  Line(out, name + "_count", labels, static_cast<double>(count_.load()));
}

CommandStats* Metrics::ForCommand(uint16_t cmd_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = commands_[cmd_id];
  if (!slot) {
    slot = std::make_unique<CommandStats>();
  }
  return slot.get();
}

void Metrics::AddPluginCounter(const std::string& module, const std::string& name, int64_t delta) {
  std::atomic<int64_t>* counter;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = plugin_counters_[{module, name}];
    if (!slot) {
      slot = std::make_unique<std::atomic<int64_t>>(0);
    }
    counter = slot.get();
  }
  counter->fetch_add(delta, std::memory_order_relaxed);
}

std::string Metrics::RenderPrometheus(const std::function<void(std::string*)>& extra) const {
  std::string out;
  out.reserve(16384);
  Help(&out, "dbproxy_connections", "gauge", "Open client connections.");
  Line(&out, "dbproxy_connections", "", static_cast<double>(connections.load()));
  Help(&out, "dbproxy_connections_accepted_total", "counter", "Connections accepted.");
  Line(&out, "dbproxy_connections_accepted_total", "",
       static_cast<double>(connections_accepted.load()));
  Help(&out, "dbproxy_connections_rejected_total", "counter",
       "Connections refused over max_connections.");
  Line(&out, "dbproxy_connections_rejected_total", "",
       static_cast<double>(connections_rejected.load()));
  Help(&out, "dbproxy_connections_denied_total", "counter",
       "Connections closed at accept because the peer is not in server.allow.");
  Line(&out, "dbproxy_connections_denied_total", "",
       static_cast<double>(connections_denied.load()));
  Help(&out, "dbproxy_admin_denied_total", "counter",
       "Admin socket connections refused: peer neither root nor in the admin group.");
  Line(&out, "dbproxy_admin_denied_total", "", static_cast<double>(admin_denied.load()));
  Help(&out, "dbproxy_bad_frames_total", "counter", "Connections closed for a bad frame length.");
  Line(&out, "dbproxy_bad_frames_total", "", static_cast<double>(bad_frames.load()));
  Help(&out, "dbproxy_output_full_closes_total", "counter",
       "Connections closed because more than max_output_buffer_bytes of answers were unread.");
  Line(&out, "dbproxy_output_full_closes_total", "",
       static_cast<double>(output_full_closes.load()));
  Help(&out, "dbproxy_idle_closes_total", "counter",
       "Connections closed after idle_timeout_ms without receiving a byte.");
  Line(&out, "dbproxy_idle_closes_total", "", static_cast<double>(idle_closes.load()));
  Help(&out, "dbproxy_frame_timeouts_total", "counter",
       "Connections closed with a frame begun but incomplete for frame_timeout_ms.");
  Line(&out, "dbproxy_frame_timeouts_total", "", static_cast<double>(frame_timeouts.load()));
  Help(&out, "dbproxy_inflight_capped_total", "counter",
       "Times one connection stopped being read at max_inflight_per_connection.");
  Line(&out, "dbproxy_inflight_capped_total", "", static_cast<double>(inflight_capped.load()));
  Help(&out, "dbproxy_unknown_commands_total", "counter", "Frames with no handler.");
  Line(&out, "dbproxy_unknown_commands_total", "", static_cast<double>(unknown_commands.load()));
  Help(&out, "dbproxy_replies_dropped_total", "counter", "Replies whose connection was gone.");
  Line(&out, "dbproxy_replies_dropped_total", "", static_cast<double>(replies_dropped.load()));
  Help(&out, "dbproxy_heartbeats_received_total", "counter", "Heartbeats absorbed.");
  Line(&out, "dbproxy_heartbeats_received_total", "",
       static_cast<double>(heartbeats_received.load()));
  Help(&out, "dbproxy_config_generation", "gauge", "Id of the generation serving requests.");
  Line(&out, "dbproxy_config_generation", "", static_cast<double>(generation.load()));
  Help(&out, "dbproxy_reloads_total", "counter", "Reload attempts.");
  Line(&out, "dbproxy_reloads_total", "", static_cast<double>(reloads_total.load()));
  Help(&out, "dbproxy_reload_failures_total", "counter", "Reloads that kept the old generation.");
  Line(&out, "dbproxy_reload_failures_total", "", static_cast<double>(reload_failures.load()));
  Help(&out, "dbproxy_last_reload_successful", "gauge", "1 if the last reload applied.");
  Line(&out, "dbproxy_last_reload_successful", "",
       static_cast<double>(last_reload_successful.load()));
  Help(&out, "dbproxy_last_reload_timestamp_seconds", "gauge", "Unix time of the last reload.");
  Line(&out, "dbproxy_last_reload_timestamp_seconds", "",
       static_cast<double>(last_reload_timestamp.load()));

  std::lock_guard<std::mutex> lock(mu_);
  Help(&out, "dbproxy_requests_total", "counter", "Requests dispatched, by command id.");
  for (const auto& [cmd, s] : commands_) {
    Line(&out, "dbproxy_requests_total", CmdLabel(cmd), static_cast<double>(s->requests.load()));
  }
  Help(&out, "dbproxy_request_errors_total", "counter",
       "Requests whose handler threw or gave no reply where one was due.");
  for (const auto& [cmd, s] : commands_) {
    Line(&out, "dbproxy_request_errors_total", CmdLabel(cmd),
         static_cast<double>(s->errors.load()));
  }
  Help(&out, "dbproxy_request_duration_seconds", "histogram", "Handler latency, by command id.");
  for (const auto& [cmd, s] : commands_) {
    s->latency.Render("dbproxy_request_duration_seconds", CmdLabel(cmd), &out);
  }
  Help(&out, "dbproxy_plugin_events_total", "counter", "Counters reported by plugins.");
  for (const auto& [key, v] : plugin_counters_) {
    Line(&out, "dbproxy_plugin_events_total",
         "module=\"" + key.first + "\",name=\"" + key.second + "\"",
         static_cast<double>(v->load()));
  }
  if (extra) {
    extra(&out);
  }
  return out;
}

}  // namespace dbproxy::admin
