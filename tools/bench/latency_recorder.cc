#include "tools/bench/latency_recorder.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace dbproxy::bench {
namespace {

constexpr int kSubBits = 10;                              // 1024 buckets per power of two
constexpr uint64_t kExactLimit = 1ull << (kSubBits + 1);  // 2048: below, one bucket per ns
constexpr int kMaxExponent = 50;  // values are clamped to < 2^50 ns (13 days)
constexpr size_t kBucketCount =
    kExactLimit + static_cast<size_t>(kMaxExponent - kSubBits - 1) * (1u << kSubBits);

}  // namespace

size_t LatencyRecorder::BucketOf(uint64_t value_ns) {
  if (value_ns < kExactLimit) {
    return static_cast<size_t>(value_ns);
  }
  value_ns = std::min<uint64_t>(value_ns, (1ull << kMaxExponent) - 1);
  const int exponent = std::bit_width(value_ns) - 1;  // >= kSubBits + 1 here
  const int shift = exponent - kSubBits;
  const uint64_t sub = (value_ns >> shift) & ((1u << kSubBits) - 1);
  return kExactLimit + static_cast<size_t>(exponent - kSubBits - 1) * (1u << kSubBits) +
         static_cast<size_t>(sub);
}

uint64_t LatencyRecorder::RepresentativeOf(size_t bucket) {
  if (bucket < kExactLimit) {
    return bucket;
  }
  const size_t above = bucket - kExactLimit;
  const int exponent = static_cast<int>(above >> kSubBits) + kSubBits + 1;
  const uint64_t sub = above & ((1u << kSubBits) - 1);
  const int shift = exponent - kSubBits;
  const uint64_t low = ((1ull << kSubBits) + sub) << shift;
  return low + (1ull << shift) / 2;
}

void LatencyRecorder::Record(uint64_t latency_ns) {
  if (buckets_.empty()) {
    buckets_.assign(kBucketCount, 0);
  }
  ++buckets_[BucketOf(latency_ns)];
  ++count_;
  min_ns_ = std::min(min_ns_, latency_ns);
  max_ns_ = std::max(max_ns_, latency_ns);
  sum_ns_ += static_cast<long double>(latency_ns);
}

void LatencyRecorder::Merge(const LatencyRecorder& other) {
  if (other.count_ == 0) {
    return;
  }
  if (buckets_.empty()) {
    buckets_.assign(kBucketCount, 0);
  }
  for (size_t i = 0; i < buckets_.size(); ++i) {
    buckets_[i] += other.buckets_[i];
  }
  count_ += other.count_;
  min_ns_ = std::min(min_ns_, other.min_ns_);
  max_ns_ = std::max(max_ns_, other.max_ns_);
  sum_ns_ += other.sum_ns_;
}

uint64_t LatencyRecorder::PercentileNs(double p) const {
  if (count_ == 0) {
    return 0;
  }
  p = std::clamp(p, 0.0, 100.0);
  // Nearest rank: the ceil(p/100 * n)-th smallest sample, at least the first. The epsilon
  // keeps decimal p (99.9) from rounding one rank up through binary representation error.
  const double exact_rank = p * static_cast<double>(count_) / 100.0;
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(exact_rank - 1e-9)));
  // The extremes are known exactly; only ranks in between go through the buckets.
  if (rank >= count_) {
    return max_ns_;
  }
  if (rank == 1) {
    return min_ns_;
  }
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      // In the bucket of the minimum or maximum, that exact value is as good an answer as
      // the midpoint and reads better next to min/max.
      if (i == BucketOf(max_ns_)) {
        return max_ns_;
      }
      if (i == BucketOf(min_ns_)) {
        return min_ns_;
      }
      return RepresentativeOf(i);
    }
  }
  return max_ns_;
}

double LatencyRecorder::mean_ns() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ns_ / static_cast<long double>(count_));
}

}  // namespace dbproxy::bench
