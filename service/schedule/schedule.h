// A learning-rate schedule: a validated scheduler and the per-group values it
// drives, stepped like PyTorch's scheduler.step().
//
// lrs() after n calls of Step() equal PyTorch's param_groups[g]['lr'] after
// the scheduler's construction and n calls of step() (step(metric) for
// ReduceLROnPlateau), bit for bit.
//
// Not thread-safe; movable, not copyable.
#ifndef LRSCHED_SERVICE_SCHEDULE_SCHEDULE_H_
#define LRSCHED_SERVICE_SCHEDULE_SCHEDULE_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "lrsched/v1/job.pb.h"
#include "lrsched/v1/scheduler_spec.pb.h"
#include "service/schedule/reduce_lr_on_plateau.h"
#include "service/schedule/scheduler.h"

namespace lrsched {

// Most parameter groups a schedule takes.
inline constexpr int kMaxParamGroups = 1024;

class Schedule {
 public:
  // Validates `spec` (see MakeScheduler) and `base_lrs` (1 to kMaxParamGroups
  // values, finite, at least 0) and constructs the scheduler, so that lrs()
  // are lr(0). INVALID_ARGUMENT names the field and the rule.
  static absl::StatusOr<Schedule> Create(const v1::SchedulerSpec& spec,
                                         absl::Span<const double> base_lrs);

  Schedule(Schedule&&) = default;
  Schedule& operator=(Schedule&&) = default;

  // Calls of Step() so far: the step whose values lrs() and momentums() are.
  int64_t step() const { return step_; }
  const std::vector<double>& lrs() const { return groups_.lrs; }
  // Empty unless cycles_momentum().
  const std::vector<double>& momentums() const { return groups_.momentums; }
  size_t num_groups() const { return groups_.lrs.size(); }

  bool takes_metric() const { return scheduler_->TakesMetric(); }
  // Whether the next Step() reads its metric: step() + 1 is decided only once
  // the metric of step() is known.
  bool next_step_takes_metric() const { return scheduler_->NextStepTakesMetric(); }
  bool cycles_momentum() const { return scheduler_->CyclesMomentum(); }
  // The last step that exists (OneCycleLR's total_steps, or the step before
  // when its last phase has zero length; the overflow of CyclicLR's
  // TRIANGULAR2 and EXP_RANGE; the step before the first whose values would
  // not be finite, once Step() found it), else kMaxStep.
  int64_t last_step() const { return ended_ ? step_ : scheduler_->LastStep(); }
  // Why the schedule ends at last_step(), for messages: empty unless Step()
  // found a step whose values would not be finite.
  const std::string& end_reason() const { return end_reason_; }
  // Whether Step() found such a step.
  bool ended() const { return ended_; }

  // Advances one step, then applies `overrides` (each of the new step) as
  // ApplyOverride() does. `metric` is read only when next_step_takes_metric().
  // Returns false, and leaves step() and its values as they were, if the new
  // step's learning rates or momentums would not be finite: the schedule then
  // ends at step(). PyTorch would go on training with inf or NaN; a service
  // that many workers follow must not hand those out.
  // Precondition: step() < last_step().
  bool Step(double metric = std::numeric_limits<double>::quiet_NaN(),
            absl::Span<const v1::Override> overrides = {});

  // The first step whose metric decides the next step (kMaxStep if none).
  int64_t first_metric_step() const { return scheduler_->FirstMetricStep(); }
  // The ReduceLROnPlateau deciding with metrics, for its counters; null if none.
  const ReduceLROnPlateau* plateau() const { return scheduler_->Plateau(); }

  // Scales the rest of the schedule by `factor` (finite, >= 0): the current
  // learning rates and every base, peak and floor value the scheduler
  // computes from, as a person would set them by hand in PyTorch.
  void ScaleSchedule(double factor);

  // Applies an operator override to the current step's values: SET_LEARNING_RATE
  // with lrs (one, or one per group) or a factor of the current rates, or
  // SCALE_SCHEDULE with a factor. Precondition: a valid override, and
  // CheckOverride() ok.
  void ApplyOverride(const v1::Override& override);
  // OUT_OF_RANGE, naming the group, if ApplyOverride() would leave a current
  // learning rate that is not finite.
  absl::Status CheckOverride(const v1::Override& override) const;

 private:
  Schedule(std::unique_ptr<Scheduler> scheduler, ParamGroups groups)
      : scheduler_(std::move(scheduler)), groups_(std::move(groups)) {}

  std::unique_ptr<Scheduler> scheduler_;
  ParamGroups groups_;
  int64_t step_ = 0;
  bool ended_ = false;
  std::string end_reason_;
  // The values of step_ while Step() computes the next one, to be put back
  // if those are not finite. Members, so that stepping does not allocate.
  std::vector<double> saved_lrs_;
  std::vector<double> saved_momentums_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_SCHEDULE_H_
