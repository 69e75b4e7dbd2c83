#include "tools/bench/latency_recorder.h"

#include <gtest/gtest.h>

namespace dbproxy::bench {
namespace {

TEST(LatencyRecorder, ReportsZeroWhenEmpty) {
  LatencyRecorder recorder;
  EXPECT_EQ(recorder.count(), 0u);
  EXPECT_EQ(recorder.PercentileNs(50), 0u);
  EXPECT_EQ(recorder.max_ns(), 0u);
  EXPECT_EQ(recorder.min_ns(), 0u);
  EXPECT_EQ(recorder.mean_ns(), 0.0);
}

TEST(LatencyRecorder, UsesNearestRankOnASmallSet) {
  LatencyRecorder recorder;
  for (uint64_t v : {400, 100, 300, 200}) {
    recorder.Record(v);
  }
  EXPECT_EQ(recorder.PercentileNs(25), 100u);
  EXPECT_EQ(recorder.PercentileNs(50), 200u);
  EXPECT_EQ(recorder.PercentileNs(75), 300u);
  EXPECT_EQ(recorder.PercentileNs(76), 400u);
  EXPECT_EQ(recorder.PercentileNs(100), 400u);
  EXPECT_EQ(recorder.min_ns(), 100u);
  EXPECT_EQ(recorder.max_ns(), 400u);
  EXPECT_DOUBLE_EQ(recorder.mean_ns(), 250.0);
}

TEST(LatencyRecorder, KeepsValuesBelow2048NsExact) {
  LatencyRecorder recorder;
  for (uint64_t v = 1; v <= 1000; ++v) {
    recorder.Record(v);
  }
  EXPECT_EQ(recorder.PercentileNs(50), 500u);
  EXPECT_EQ(recorder.PercentileNs(90), 900u);
  EXPECT_EQ(recorder.PercentileNs(99), 990u);
  EXPECT_EQ(recorder.PercentileNs(99.9), 999u);
}

TEST(LatencyRecorder, PercentilesOfMicrosecondDataAreWithinATenthOfAPercent) {
  LatencyRecorder recorder;
  // 1 us .. 10 ms in 1 us steps, recorded in a scrambled order.
  for (uint64_t i = 0; i < 10000; ++i) {
    const uint64_t us = (i * 7919) % 10000 + 1;
    recorder.Record(us * 1000);
  }
  ASSERT_EQ(recorder.count(), 10000u);
  EXPECT_NEAR(static_cast<double>(recorder.PercentileNs(50)), 5'000'000, 5'000);
  EXPECT_NEAR(static_cast<double>(recorder.PercentileNs(90)), 9'000'000, 9'000);
  EXPECT_NEAR(static_cast<double>(recorder.PercentileNs(99)), 9'900'000, 9'900);
  EXPECT_EQ(recorder.max_ns(), 10'000'000u);
  EXPECT_EQ(recorder.min_ns(), 1'000u);
  EXPECT_DOUBLE_EQ(recorder.mean_ns(), 5'000'500.0);
}

TEST(LatencyRecorder, ASingleSampleIsEveryPercentileExactly) {
  LatencyRecorder recorder;
  recorder.Record(123'456'789);
  EXPECT_EQ(recorder.PercentileNs(1), 123'456'789u);
  EXPECT_EQ(recorder.PercentileNs(50), 123'456'789u);
  EXPECT_EQ(recorder.PercentileNs(100), 123'456'789u);
}

TEST(LatencyRecorder, MergeEqualsRecordingEverythingInOne) {
  LatencyRecorder a;
  LatencyRecorder b;
  LatencyRecorder all;
  for (uint64_t v = 1; v <= 5000; ++v) {
    (v % 3 == 0 ? a : b).Record(v * 997);
    all.Record(v * 997);
  }
  LatencyRecorder empty;
  a.Merge(b);
  a.Merge(empty);
  EXPECT_EQ(a.count(), all.count());
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(a.PercentileNs(p), all.PercentileNs(p)) << "p" << p;
  }
  EXPECT_EQ(a.min_ns(), all.min_ns());
  EXPECT_EQ(a.max_ns(), all.max_ns());
  EXPECT_DOUBLE_EQ(a.mean_ns(), all.mean_ns());
  empty.Merge(all);
  EXPECT_EQ(empty.PercentileNs(50), all.PercentileNs(50));
}

TEST(LatencyRecorder, HugeValuesKeepAnExactMaximum) {
  LatencyRecorder recorder;
  recorder.Record(1);
  recorder.Record(5'000'000'000'000'000ull);  // beyond the histogram's top bucket
  EXPECT_EQ(recorder.max_ns(), 5'000'000'000'000'000ull);
  EXPECT_EQ(recorder.PercentileNs(100), 5'000'000'000'000'000ull);
  EXPECT_EQ(recorder.PercentileNs(50), 1u);
}

}  // namespace
}  // namespace dbproxy::bench
