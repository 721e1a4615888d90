// The workers' reports of the metric of one step, and their aggregate.
//
// Not thread-safe: owned by a Job, under its lock.
#ifndef LRSCHED_SERVICE_JOB_METRIC_REPORTS_H_
#define LRSCHED_SERVICE_JOB_METRIC_REPORTS_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "lrsched/v1/job.pb.h"

namespace lrsched {

// Equal to the last bit, NaN equal to NaN: how reports and recorded
// decisions are compared.
bool SameBits(double a, double b);

struct MetricReport {
  double value = 0;
  double weight = 1;

  // The same report: equal bits for the value (NaN equals NaN) and weight.
  bool SameAs(const MetricReport& other) const;
};

class MetricReports {
 public:
  explicit MetricReports(int world_size) : reports_(world_size) {}

  enum class AddResult { kAdded, kDuplicate, kConflict };
  // Records rank's report. kDuplicate: the same report was already there
  // (a retry); kConflict: a different one was. Precondition: rank < world_size.
  AddResult Add(int rank, const MetricReport& report);

  // The report of `rank`, if any.
  const std::optional<MetricReport>& Get(int rank) const { return reports_[rank]; }
  int count() const { return count_; }
  int world_size() const { return static_cast<int>(reports_.size()); }
  bool complete() const { return count_ == world_size(); }

  // The aggregate, computed in rank order so that it does not depend on the
  // order in which reports arrived. A NaN value makes every mode NaN.
  // Precondition: count() > 0.
  double Aggregate(v1::Aggregation aggregation) const;
  double TotalWeight() const;
  // Whether `weight` can join the reports with their total weight staying
  // finite. O(1), from a sum kept as reports come: asked on every report,
  // with up to 65,536 ranks.
  bool WeightFits(double weight) const { return weight <= kMaxTotalWeight - added_weight_; }
  static constexpr double kMaxTotalWeight = std::numeric_limits<double>::max();

  // Changes the number of workers, dropping the reports of ranks that no
  // longer exist.
  void Resize(int world_size);
  void Clear();

 private:
  std::vector<std::optional<MetricReport>> reports_;
  int count_ = 0;
  // The weights of the reports held, summed as they came.
  double added_weight_ = 0;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_JOB_METRIC_REPORTS_H_
