// The learning rates (and momentums, where the schedule cycles them) of a
// job's most recent steps: a window of at most `capacity` steps that ends at
// the furthest step the job has computed.
//
// Not thread-safe: owned by a Job, under its lock.
#ifndef LRSCHED_SERVICE_JOB_VALUE_WINDOW_H_
#define LRSCHED_SERVICE_JOB_VALUE_WINDOW_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lrsched/v1/job.pb.h"
#include "service/common/sliding_vector.h"

namespace lrsched {

class ValueWindow {
 public:
  // `momentums`: whether each step also has a momentum per group.
  ValueWindow(size_t num_groups, bool momentums, int64_t capacity);

  // Appends the values of step last() + 1 (step 0 at first), dropping the
  // oldest step once the window holds `capacity`. `momentums` is empty
  // unless the window keeps them.
  void Append(const std::vector<double>& lrs, const std::vector<double>& momentums);
  // Replaces the values of last(): an override of the current step.
  void ReplaceLast(const std::vector<double>& lrs, const std::vector<double>& momentums);

  // The retained steps: first() .. last(); last() is -1 before any Append.
  int64_t first() const { return first_; }
  int64_t last() const {
    return first_ + static_cast<int64_t>(values_.size() / stride_) - 1;
  }
  bool Contains(int64_t step) const { return step >= first_ && step <= last(); }

  // Writes the values of `step` into `values`. Precondition: Contains(step).
  void Fill(int64_t step, v1::StepValues* values) const;
  // Values (lrs, then momentums) a step takes.
  size_t stride() const { return stride_; }

 private:
  const size_t num_groups_;
  const size_t stride_;
  const int64_t capacity_;
  SlidingVector<double> values_;
  int64_t first_ = 0;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_JOB_VALUE_WINDOW_H_
