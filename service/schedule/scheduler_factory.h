// Turns a SchedulerSpec into a validated Scheduler: the one place where specs
// are checked.
#ifndef LRSCHED_SERVICE_SCHEDULE_SCHEDULER_FACTORY_H_
#define LRSCHED_SERVICE_SCHEDULE_SCHEDULER_FACTORY_H_

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "lrsched/v1/scheduler_spec.pb.h"
#include "service/schedule/scheduler.h"

namespace lrsched {

// Builds the scheduler of `spec` for `num_groups` parameter groups (>= 1).
//
// INVALID_ARGUMENT for every configuration PyTorch rejects, for those it
// accepts but that fail at a later step() and compute again after it (a
// LinearLR start_factor of 0, a ConstantLR factor of 0), and for NaN, infinite
// and out-of-range values. Schedules that PyTorch ends by raising are valid
// and end at the step before (Scheduler::LastStep()). The
// message names the field by its path in the spec (e.g.
// "sequential_lr.schedulers[1].cosine_annealing_lr.t_max") and the rule.
absl::StatusOr<std::unique_ptr<Scheduler>> MakeScheduler(
    const v1::SchedulerSpec& spec, size_t num_groups);

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_SCHEDULER_FACTORY_H_
