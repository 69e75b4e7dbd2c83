#include "tools/bench/report.h"

#include <string>

#include <gtest/gtest.h>

namespace dbproxy::bench {
namespace {

// A run of 2 measured seconds: 100 good sends at 1..100 us, 3 with msg_id 0 at 50 ms, and 2
// timeouts.
RunResult SampleRun() {
  RunResult result;
  result.description = "users 1-800, 400 pairs";
  result.measure_window_s = 2.0;
  result.cpu_window_s = 2.0;
  PhaseStats& measured = result.phases[static_cast<size_t>(Phase::kMeasure)];
  for (uint64_t i = 1; i <= 105; ++i) {
    measured.RecordSent(RequestKind::kSendSingle, i);
  }
  for (uint64_t us = 1; us <= 100; ++us) {
    measured.RecordReply(RequestKind::kSendSingle, Failure::kNone, 0, us * 1000, 1000 + us);
  }
  for (int i = 0; i < 3; ++i) {
    measured.RecordReply(RequestKind::kSendSingle, Failure::kMsgIdZero, 0, 50'000'000, 2000);
  }
  measured.RecordNoReply(RequestKind::kSendSingle, Failure::kTimeout, 3000);
  measured.RecordNoReply(RequestKind::kSendSingle, Failure::kTimeout, 3000);
  result.connections.opened = 4;
  result.open_at_end = 4;
  result.processes.push_back({1234, true, 1.5, 50 * 1024 * 1024});
  result.processes.push_back({99, false, 0, 0});
  return result;
}

BenchOptions SampleOptions() {
  BenchOptions options;
  options.scenario = ScenarioId::kSendExisting;
  return options;
}

TEST(Report, JsonHoldsThroughputLatencyFailuresAndCpu) {
  const std::string json = FormatJsonReport(SampleOptions(), SampleRun());
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.substr(json.size() - 2), "}\n");
  for (const char* expected : {
           R"("scenario":"send-existing")",
           R"("description":"users 1-800, 400 pairs")",
           R"("load":{"connections":4,"inflight":200,"threads":1,"warmup_s":1.000,)"
           R"("timeout_ms":5000,"requests":null,"duration_s":10.000})",
           R"("measured":{"window_s":2.000,"sent":105,"ok":100,"failed":5,)"
           R"("throughput_rps":50.0,"completed_rps":52.5,)",
           R"("failures":{"msg_id_zero":3,"result_code":0,"timeout":2,"missing_reply":0,)"
           R"("unparsable":0,"bad_reply":0})",
           R"("latency_us":{"p50":52.0,"p90":93.0,"p99":50000.0,)",
           R"("max":50000.0,"min":1.0,)",
           R"("by_kind":{"send_single":{"sent":105,)",
           R"("processes":[{"pid":1234,"ok":true,"cpu_s":1.500,"cpu_percent":75.0,)"
           R"("cpu_us_per_request":14285.7,"rss_mb":50.0},{"pid":99,"ok":false}])",
           R"("next_pair_offset":null,"interrupted":false})",
       }) {
    EXPECT_NE(json.find(expected), std::string::npos) << "missing " << expected << "\nin " << json;
  }
  // Braces balance (no string in this report contains one).
  int depth = 0;
  for (char c : json) {
    depth += c == '{' ? 1 : c == '}' ? -1 : 0;
    ASSERT_GE(depth, 0);
  }
  EXPECT_EQ(depth, 0);
}

TEST(Report, TextShowsTheSameNumbers) {
  const std::string text = FormatTextReport(SampleOptions(), SampleRun());
  for (const char* expected : {
           "requests     100 ok, 5 failed (msg_id_zero 3, timeout 2)\n",
           "throughput   50.0 ok/s (52.5 completed/s)\n",
           "latency us   p50 52.0  p90 93.0  p99 50000.0  max 50000.0",
           "process      pid 1234: 1.50 CPU s in 2.00 s (75.0%), 14285.7 CPU us/request, RSS 50.0 "
           "MB\n",
           "process      pid 99: could not be read\n",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << "missing " << expected << "\nin " << text;
  }
}

TEST(Report, EscapesStringsInJson) {
  BenchOptions options = SampleOptions();
  options.host = "a\"b\\c";
  const std::string json = FormatJsonReport(options, SampleRun());
  EXPECT_NE(json.find(R"("host":"a\"b\\c")"), std::string::npos) << json;
}

TEST(Report, ReportsNextPairOffsetForSendNew) {
  RunResult result = SampleRun();
  result.next_pair_offset = 1234;
  EXPECT_NE(FormatJsonReport(SampleOptions(), result).find(R"("next_pair_offset":1234)"),
            std::string::npos);
  EXPECT_NE(FormatTextReport(SampleOptions(), result).find("--pair-offset 1234"),
            std::string::npos);
}

TEST(Report, HasFailuresLooksAtEveryPhase) {
  RunResult clean;
  clean.phases[static_cast<size_t>(Phase::kMeasure)].RecordReply(RequestKind::kUnread,
                                                                 Failure::kNone, 0, 10, 10);
  EXPECT_FALSE(HasFailures(clean));
  clean.phases[static_cast<size_t>(Phase::kPrepare)].RecordNoReply(RequestKind::kSendSingle,
                                                                   Failure::kMissingReply, 10);
  EXPECT_TRUE(HasFailures(clean));
  EXPECT_TRUE(HasFailures(SampleRun()));
}

}  // namespace
}  // namespace dbproxy::bench
