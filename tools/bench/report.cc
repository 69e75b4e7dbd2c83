#include "tools/bench/report.h"

#include <cstdio>
#include <string_view>

namespace dbproxy::bench {
namespace {

constexpr double kNsPerUs = 1000.0;
constexpr double kBytesPerMb = 1024.0 * 1024.0;

std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

double Rate(uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

double ItemsPerReply(const KindStats& stats) {
  return stats.ok == 0 ? 0.0 : static_cast<double>(stats.items) / static_cast<double>(stats.ok);
}

uint64_t Completed(const KindStats& stats) { return stats.ok + stats.failed(); }

// CPU time of one process per request completed in the measured phase, in microseconds.
// Rates, not totals: the CPU samples and the measured phase cover slightly different windows.
// The figure to compare across runs on a shared machine, where absolute rates wander.
double CpuUsPerRequest(const ProcessUsage& process, const RunResult& result) {
  const double completed_rps =
      Rate(Completed(result.phase(Phase::kMeasure).Total()), result.measure_window_s);
  if (result.cpu_window_s <= 0 || completed_rps <= 0) {
    return 0;
  }
  return process.cpu_s / result.cpu_window_s / completed_rps * 1e6;
}

// A minimal JSON object writer: keys in insertion order, numbers and plain ASCII strings.
class JsonObject {
 public:
  JsonObject& Number(std::string_view key, double value, int decimals) {
    return Raw(key, Fixed(value, decimals));
  }
  JsonObject& Integer(std::string_view key, uint64_t value) {
    return Raw(key, std::to_string(value));
  }
  JsonObject& Bool(std::string_view key, bool value) { return Raw(key, value ? "true" : "false"); }
  JsonObject& Null(std::string_view key) { return Raw(key, "null"); }
  JsonObject& String(std::string_view key, std::string_view value) {
    std::string quoted = "\"";
    for (char c : value) {
      if (static_cast<unsigned char>(c) < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
        quoted += escaped;
        continue;
      }
      if (c == '"' || c == '\\') {
        quoted += '\\';
      }
      quoted += c;
    }
    quoted += '"';
    return Raw(key, quoted);
  }
  JsonObject& Raw(std::string_view key, std::string_view json) {
    text_ += text_.empty() ? "{" : ",";
    text_ += "\"";
    text_ += key;
    text_ += "\":";
    text_ += json;
    return *this;
  }
  std::string Done() const { return text_.empty() ? "{}" : text_ + "}"; }

 private:
  std::string text_;
};

std::string FailuresJson(const KindStats& stats) {
  JsonObject failures;
  for (int f = 1; f < kFailureCount; ++f) {
    failures.Integer(FailureName(static_cast<Failure>(f)), stats.failures[static_cast<size_t>(f)]);
  }
  return failures.Done();
}

std::string LatencyJson(const LatencyRecorder& latency) {
  return JsonObject()
      .Number("p50", static_cast<double>(latency.PercentileNs(50)) / kNsPerUs, 1)
      .Number("p90", static_cast<double>(latency.PercentileNs(90)) / kNsPerUs, 1)
      .Number("p99", static_cast<double>(latency.PercentileNs(99)) / kNsPerUs, 1)
      .Number("max", static_cast<double>(latency.max_ns()) / kNsPerUs, 1)
      .Number("min", static_cast<double>(latency.min_ns()) / kNsPerUs, 1)
      .Number("mean", latency.mean_ns() / kNsPerUs, 1)
      .Done();
}

std::string KindJson(const KindStats& stats, double window_s) {
  return JsonObject()
      .Integer("sent", stats.sent)
      .Integer("ok", stats.ok)
      .Integer("failed", stats.failed())
      .Number("throughput_rps", Rate(stats.ok, window_s), 1)
      .Number("completed_rps", Rate(Completed(stats), window_s), 1)
      .Raw("failures", FailuresJson(stats))
      .Raw("latency_us", LatencyJson(stats.latency))
      .Number("items_per_reply", ItemsPerReply(stats), 2)
      .Done();
}

std::string PhaseJson(const PhaseStats& phase, double window_s, bool by_kind) {
  const KindStats total = phase.Total();
  JsonObject object;
  object.Number("window_s", window_s, 3)
      .Integer("sent", total.sent)
      .Integer("ok", total.ok)
      .Integer("failed", total.failed())
      .Number("throughput_rps", Rate(total.ok, window_s), 1)
      .Number("completed_rps", Rate(Completed(total), window_s), 1)
      .Raw("failures", FailuresJson(total))
      .Raw("latency_us", LatencyJson(total.latency))
      .Number("items_per_reply", ItemsPerReply(total), 2);
  if (by_kind) {
    JsonObject kinds;
    for (int k = 0; k < kRequestKindCount; ++k) {
      const KindStats& stats = phase.kind(static_cast<RequestKind>(k));
      if (stats.sent > 0) {
        kinds.Raw(RequestKindName(static_cast<RequestKind>(k)), KindJson(stats, window_s));
      }
    }
    object.Raw("by_kind", kinds.Done());
  }
  return object.Done();
}

std::string FailureList(const KindStats& stats) {
  std::string text;
  for (int f = 1; f < kFailureCount; ++f) {
    const uint64_t n = stats.failures[static_cast<size_t>(f)];
    if (n > 0) {
      text += (text.empty() ? "" : ", ") + std::string(FailureName(static_cast<Failure>(f))) + " " +
              std::to_string(n);
    }
  }
  return text.empty() ? "none" : text;
}

std::string LatencyLine(const LatencyRecorder& latency) {
  auto us = [](uint64_t ns) { return Fixed(static_cast<double>(ns) / kNsPerUs, 1); };
  return "p50 " + us(latency.PercentileNs(50)) + "  p90 " + us(latency.PercentileNs(90)) +
         "  p99 " + us(latency.PercentileNs(99)) + "  max " + us(latency.max_ns()) + "  mean " +
         Fixed(latency.mean_ns() / kNsPerUs, 1);
}

}  // namespace

bool HasFailures(const RunResult& result) {
  for (const PhaseStats& phase : result.phases) {
    if (phase.Total().failed() > 0) {
      return true;
    }
  }
  return false;
}

std::string FormatTextReport(const BenchOptions& options, const RunResult& result) {
  const KindStats measured = result.phase(Phase::kMeasure).Total();
  const double window = result.measure_window_s;
  std::string out;
  out += "scenario     " + std::string(ScenarioName(options.scenario)) + " (" + result.description +
         ") against " + options.host + ":" + std::to_string(options.port) + "\n";
  const std::string per_connection = options.scenario == ScenarioId::kIdle
                                         ? std::string("idle")
                                         : std::to_string(options.inflight) + " in flight";
  out += "load         " + std::to_string(options.connections) + " connections x " +
         per_connection + ", " + std::to_string(options.threads) + " thread(s), warm-up " +
         Fixed(options.warmup_s, 1) + " s, measured " + Fixed(window, 3) + " s" +
         (result.interrupted ? " (interrupted)" : "") + "\n";
  if (result.phase(Phase::kPrepare).Total().sent > 0) {
    const KindStats prepare = result.phase(Phase::kPrepare).Total();
    out += "prepare      " + std::to_string(prepare.sent) + " requests in " +
           Fixed(result.prepare_s, 2) + " s, " + std::to_string(prepare.failed()) + " failed (" +
           FailureList(prepare) + ")\n";
  }
  const KindStats warmup = result.phase(Phase::kWarmup).Total();
  if (warmup.failed() > 0) {
    out += "warm-up      " + std::to_string(warmup.failed()) + " of " +
           std::to_string(warmup.sent) + " failed (" + FailureList(warmup) + ")\n";
  }
  out += "requests     " + std::to_string(measured.ok) + " ok, " +
         std::to_string(measured.failed()) + " failed (" + FailureList(measured) + ")\n";
  out += "throughput   " + Fixed(Rate(measured.ok, window), 1) + " ok/s (" +
         Fixed(Rate(Completed(measured), window), 1) + " completed/s)\n";
  out += "latency us   " + LatencyLine(measured.latency) + "\n";
  out += "items/reply  " + Fixed(ItemsPerReply(measured), 2) + "\n";
  int kinds_used = 0;
  for (int k = 0; k < kRequestKindCount; ++k) {
    kinds_used += result.phase(Phase::kMeasure).kind(static_cast<RequestKind>(k)).sent > 0;
  }
  if (kinds_used > 1) {
    for (int k = 0; k < kRequestKindCount; ++k) {
      const auto kind = static_cast<RequestKind>(k);
      const KindStats& stats = result.phase(Phase::kMeasure).kind(kind);
      if (stats.sent == 0) {
        continue;
      }
      out += "  " + std::string(RequestKindName(kind)) + ": " + std::to_string(stats.ok) + " ok, " +
             std::to_string(stats.failed()) + " failed, " + Fixed(Rate(stats.ok, window), 1) +
             " ok/s, " + LatencyLine(stats.latency) + "\n";
    }
  }
  const ConnectionCounters& c = result.connections;
  out += "connections  " + std::to_string(c.opened) + " opened, " +
         std::to_string(c.connect_failed) + " failed to connect, " +
         std::to_string(c.closed_by_peer) + " closed by peer, " +
         std::to_string(result.open_at_end) + " open at end\n";
  out += "events       heartbeats " + std::to_string(c.heartbeats_received) + " received / " +
         std::to_string(c.heartbeats_sent) + " sent, stop notices " +
         std::to_string(c.stop_notices) + ", late replies " + std::to_string(c.late_replies) +
         ", unknown replies " + std::to_string(c.unknown_replies) + ", broken streams " +
         std::to_string(c.broken_streams) + "\n";
  for (const ProcessUsage& p : result.processes) {
    if (!p.ok) {
      out += "process      pid " + std::to_string(p.pid) + ": could not be read\n";
      continue;
    }
    out += "process      pid " + std::to_string(p.pid) + ": " + Fixed(p.cpu_s, 2) + " CPU s in " +
           Fixed(result.cpu_window_s, 2) + " s (" +
           Fixed(result.cpu_window_s > 0 ? 100.0 * p.cpu_s / result.cpu_window_s : 0, 1) + "%), " +
           Fixed(CpuUsPerRequest(p, result), 1) + " CPU us/request, RSS " +
           Fixed(static_cast<double>(p.rss_bytes) / kBytesPerMb, 1) + " MB\n";
  }
  if (result.next_pair_offset) {
    out += "next run     --pair-offset " + std::to_string(*result.next_pair_offset) + "\n";
  }
  return out;
}

std::string FormatJsonReport(const BenchOptions& options, const RunResult& result) {
  JsonObject load;
  load.Integer("connections", options.connections)
      .Integer("inflight", options.inflight)
      .Integer("threads", options.threads)
      .Number("warmup_s", options.warmup_s, 3)
      .Integer("timeout_ms", options.timeout_ms);
  if (options.requests) {
    load.Integer("requests", *options.requests).Null("duration_s");
  } else {
    load.Null("requests").Number("duration_s", options.duration_s, 3);
  }

  const ConnectionCounters& c = result.connections;
  const std::string connections = JsonObject()
                                      .Integer("opened", c.opened)
                                      .Integer("connect_failed", c.connect_failed)
                                      .Integer("closed_by_peer", c.closed_by_peer)
                                      .Integer("open_at_end", result.open_at_end)
                                      .Integer("broken_streams", c.broken_streams)
                                      .Integer("heartbeats_received", c.heartbeats_received)
                                      .Integer("heartbeats_sent", c.heartbeats_sent)
                                      .Integer("stop_notices", c.stop_notices)
                                      .Integer("late_replies", c.late_replies)
                                      .Integer("unknown_replies", c.unknown_replies)
                                      .Integer("seq_exhausted", c.seq_exhausted)
                                      .Done();
  std::string processes = "[";
  for (size_t i = 0; i < result.processes.size(); ++i) {
    const ProcessUsage& p = result.processes[i];
    JsonObject process;
    process.Integer("pid", static_cast<uint64_t>(p.pid)).Bool("ok", p.ok);
    if (p.ok) {
      process.Number("cpu_s", p.cpu_s, 3)
          .Number("cpu_percent",
                  result.cpu_window_s > 0 ? 100.0 * p.cpu_s / result.cpu_window_s : 0, 1)
          .Number("cpu_us_per_request", CpuUsPerRequest(p, result), 1)
          .Number("rss_mb", static_cast<double>(p.rss_bytes) / kBytesPerMb, 1);
    }
    processes += (i == 0 ? "" : ",") + process.Done();
  }
  processes += "]";

  JsonObject root;
  root.String("scenario", ScenarioName(options.scenario))
      .String("description", result.description)
      .String("host", options.host)
      .Integer("port", options.port)
      .Raw("load", load.Done())
      .Raw("measured",
           PhaseJson(result.phase(Phase::kMeasure), result.measure_window_s, /*by_kind=*/true))
      .Raw("warmup", PhaseJson(result.phase(Phase::kWarmup), options.warmup_s, false))
      .Raw("prepare", PhaseJson(result.phase(Phase::kPrepare), result.prepare_s, false))
      .Raw("connections", connections)
      .Number("cpu_window_s", result.cpu_window_s, 3)
      .Raw("processes", processes);
  if (result.next_pair_offset) {
    root.Integer("next_pair_offset", *result.next_pair_offset);
  } else {
    root.Null("next_pair_offset");
  }
  root.Bool("interrupted", result.interrupted);
  return root.Done() + "\n";
}

}  // namespace dbproxy::bench
