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
  int64_t last() const { return first_ + count_ - 1; }
  bool Contains(int64_t step) const { return step >= first_ && step <= last(); }

  // Writes the values of `step` into `values`. Precondition: Contains(step).
  void Fill(int64_t step, v1::StepValues* values) const;
  // Values (lrs, then momentums) a step takes.
  size_t stride() const { return stride_; }

 private:
  // Where the values of `step` start in values_.
  size_t Offset(int64_t step) const;

  const size_t num_groups_;
  const size_t stride_;
  const int64_t capacity_;
  // A ring of up to capacity_ steps, allocated as it fills and never beyond
  // that: what the memory budget charges for a job is what it takes.
  std::vector<double> values_;
  int64_t first_ = 0;
  int64_t count_ = 0;
  // The slot of first_ once the ring is full; 0 until then.
  int64_t head_ = 0;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_JOB_VALUE_WINDOW_H_
