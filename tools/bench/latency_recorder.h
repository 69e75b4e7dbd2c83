#pragma once

// Latency distribution in a fixed-size log-linear histogram (the idea of HdrHistogram):
// values below 2048 ns are kept exactly; above, every power of two is split into 1024 equal
// buckets, so a reported percentile is within 0.1% of the true sample. Memory is constant
// (~340 KB, allocated on the first Record) however long the run; min, max and mean are exact.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dbproxy::bench {

// Thread rule: one thread at a time; merge per-thread recorders after the threads are joined.
class LatencyRecorder {
 public:
  void Record(uint64_t latency_ns);
  void Merge(const LatencyRecorder& other);

  // The nearest-rank percentile (0 < p <= 100): the smallest recorded value v such that at
  // least p% of the samples are <= v, within the bucket precision above. 0 when empty.
  uint64_t PercentileNs(double p) const;

  uint64_t count() const { return count_; }
  uint64_t min_ns() const { return count_ == 0 ? 0 : min_ns_; }
  uint64_t max_ns() const { return max_ns_; }
  double mean_ns() const;

 private:
  static size_t BucketOf(uint64_t value_ns);
  // The value reported for a bucket: its midpoint (exact for the unit-width buckets).
  static uint64_t RepresentativeOf(size_t bucket);

  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t min_ns_ = UINT64_MAX;
  uint64_t max_ns_ = 0;
  long double sum_ns_ = 0;
};

}  // namespace dbproxy::bench
