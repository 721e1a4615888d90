// The decisions of a job's retained steps: for every step whose metric was
// aggregated, the aggregate with what the schedule decided from it, and the
// report of each rank it was aggregated from (a retried report is answered
// from them).
//
// Not thread-safe: owned by a Job, under its lock.
#ifndef LRSCHED_SERVICE_JOB_METRIC_HISTORY_H_
#define LRSCHED_SERVICE_JOB_METRIC_HISTORY_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "google/protobuf/repeated_ptr_field.h"
#include "lrsched/v1/job.pb.h"
#include "service/common/sliding_vector.h"
#include "service/job/metric_reports.h"

namespace lrsched {

// Equal to the last bit: what replay demands of a recorded decision.
bool SameDecision(const v1::AggregatedMetric& a, const v1::AggregatedMetric& b);

class MetricHistory {
 public:
  struct Entry {
    v1::AggregatedMetric metric;
    std::vector<std::optional<MetricReport>> reports;  // by rank
  };

  // Records the decision of a step after every recorded one.
  void Add(Entry entry) { entries_.push_back(std::move(entry)); }
  // Forgets the decisions of the steps before `step`.
  void DropBefore(int64_t step);

  bool empty() const { return entries_.empty(); }
  // The first step recorded. Precondition: !empty().
  int64_t first_step() const { return entries_.front().metric.step(); }
  // The latest decision. Precondition: !empty().
  const v1::AggregatedMetric& latest() const { return entries_.back().metric; }
  // The entry of `step`; null when no decision of that step is recorded.
  const Entry* Find(int64_t step) const;

  // Appends to `out`, oldest first, the most recent decisions of steps before
  // `before` that state only values of steps up to `last_shown` (a decision
  // states the values of the step after it), as many as fit in `max_bytes`
  // serialized. Returns whether older decisions were left out.
  bool AppendShown(int64_t last_shown, int64_t before, size_t max_bytes,
                   google::protobuf::RepeatedPtrField<v1::AggregatedMetric>* out) const;

 private:
  SlidingVector<Entry> entries_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_JOB_METRIC_HISTORY_H_
