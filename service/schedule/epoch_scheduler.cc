#include "service/schedule/epoch_scheduler.h"

#include "absl/strings/str_cat.h"

namespace lrsched {

void EpochScheduler::ClaimInitialLrs(ParamGroups& groups) {
  // group.setdefault('initial_lr', group['lr']): the first scheduler
  // constructed on an optimizer fixes the base of every later one.
  if (groups.initial_lrs.empty()) groups.initial_lrs = groups.lrs;
  base_lrs_ = groups.initial_lrs;
}

void EpochScheduler::Construct(ParamGroups& groups) {
  ClaimInitialLrs(groups);
  last_epoch_ = 0;
  Update(groups);
}

void EpochScheduler::Step(ParamGroups& groups, double /*metric*/) {
  ++last_epoch_;
  Update(groups);
}

void EpochScheduler::Restart(ParamGroups& groups) {
  last_epoch_ = 0;
  UpdateClosedForm(groups);
}

void EpochScheduler::Scale(double factor) {
  for (double& base_lr : base_lrs_) base_lr *= factor;
}

void EpochScheduler::SaveState(v1::SchedulerState& state) const {
  state.set_last_epoch(last_epoch_);
}

absl::Status EpochScheduler::RestoreState(const v1::SchedulerState& state) {
  if (state.last_epoch() < -1 || state.last_epoch() > LastStep()) {
    return absl::InvalidArgumentError(
        absl::StrCat("scheduler state: last_epoch ", state.last_epoch(),
                     " is outside [-1, ", LastStep(), "]"));
  }
  last_epoch_ = state.last_epoch();
  return absl::OkStatus();
}

}  // namespace lrsched
