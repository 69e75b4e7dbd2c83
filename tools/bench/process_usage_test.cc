#include "tools/bench/process_usage.h"

#include <unistd.h>

#include <climits>

#include <gtest/gtest.h>

namespace dbproxy::bench {
namespace {

TEST(ProcessUsage, AddsUtimeAndStimeCountingFieldsAfterTheLastParen) {
  // Field 2 holds spaces and parentheses; utime (14) = 150, stime (15) = 50.
  const char* stat =
      "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 50 0 0 20 0 3 0 "
      "123456 1000000 500 18446744073709551615\n";
  EXPECT_EQ(ParseStatCpuTicks(stat), 200u);
}

TEST(ProcessUsage, RejectsATruncatedOrMalformedStatLine) {
  EXPECT_FALSE(ParseStatCpuTicks("4242 (x) S 1 2 3").has_value());
  EXPECT_FALSE(ParseStatCpuTicks("no parenthesis at all").has_value());
  EXPECT_FALSE(ParseStatCpuTicks("1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 50 0").has_value());
}

TEST(ProcessUsage, ReadsVmRssInBytes) {
  const char* status = "Name:\tdbproxyd\nVmPeak:\t  900 kB\nVmRSS:\t   34512 kB\nThreads:\t9\n";
  EXPECT_EQ(ParseStatusRssBytes(status), 34512u * 1024);
  EXPECT_FALSE(ParseStatusRssBytes("Name:\tx\nThreads:\t1\n").has_value());
  EXPECT_FALSE(ParseStatusRssBytes("VmRSS:\t12 MB\n").has_value());
}

TEST(ProcessUsage, SamplesARealProcess) {
  // Burn a little CPU so the sample is not trivially zero.
  volatile uint64_t sink = 0;
  for (uint64_t i = 0; i < 50'000'000; ++i) {
    sink = sink + i;
  }
  std::optional<ProcessSample> sample = SampleProcess(getpid());
  ASSERT_TRUE(sample.has_value());
  EXPECT_GT(sample->cpu_s, 0.0);
  EXPECT_GT(sample->rss_bytes, 1024u * 1024);
}

TEST(ProcessUsage, ReportsAMissingProcess) { EXPECT_FALSE(SampleProcess(INT_MAX).has_value()); }

}  // namespace
}  // namespace dbproxy::bench
