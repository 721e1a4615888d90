#include "service/schedule/epoch_scheduler.h"

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

}  // namespace lrsched
