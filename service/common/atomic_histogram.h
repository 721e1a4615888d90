// AtomicHistogram: counts of observations in fixed buckets, updated with
// relaxed atomic adds only, so that the hot path records a latency without a
// lock; read (slightly torn between buckets, never lost) when scraped.
#ifndef LRSCHED_SERVICE_COMMON_ATOMIC_HISTOGRAM_H_
#define LRSCHED_SERVICE_COMMON_ATOMIC_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace lrsched {

class AtomicHistogram {
 public:
  static constexpr int kMaxBuckets = 20;

  // Upper bounds, ascending; at most kMaxBuckets. A last +Inf bucket is
  // implied.
  explicit AtomicHistogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {}

  void Observe(double value) {
    const size_t bucket =
        std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    // The sum in units of a billionth: an integer add, no compare-and-swap.
    sum_billionths_.fetch_add(static_cast<int64_t>(value * 1e9), std::memory_order_relaxed);
  }

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot Read() const {
    Snapshot snapshot;
    snapshot.bounds = bounds_;
    uint64_t running = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      running += counts_[i].load(std::memory_order_relaxed);
      snapshot.cumulative.push_back(running);
    }
    snapshot.count = running;
    snapshot.sum = static_cast<double>(sum_billionths_.load(std::memory_order_relaxed)) * 1e-9;
    return snapshot;
  }

 private:
  const std::vector<double> bounds_;
  std::array<std::atomic<uint64_t>, kMaxBuckets + 1> counts_{};
  std::atomic<int64_t> sum_billionths_{0};
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_COMMON_ATOMIC_HISTOGRAM_H_
