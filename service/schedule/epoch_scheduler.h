// The common machinery of PyTorch's _LRScheduler: last_epoch, base_lrs taken
// from initial_lr, the initial step, and step(0) through the closed form.
#ifndef LRSCHED_SERVICE_SCHEDULE_EPOCH_SCHEDULER_H_
#define LRSCHED_SERVICE_SCHEDULE_EPOCH_SCHEDULER_H_

#include <cstdint>
#include <vector>

#include "service/schedule/scheduler.h"

namespace lrsched {

class EpochScheduler : public Scheduler {
 public:
  void Construct(ParamGroups& groups) override;
  void Step(ParamGroups& groups, double metric) override;
  void Restart(ParamGroups& groups) override;
  void UndoInitialStep() override { --last_epoch_; }
  void Scale(double factor) override;

 protected:
  // get_lr() at last_epoch_, writing the groups it returns.
  virtual void Update(ParamGroups& groups) = 0;
  // _get_closed_form_lr() at last_epoch_; schedulers without one use get_lr().
  virtual void UpdateClosedForm(ParamGroups& groups) { Update(groups); }

  // _LRScheduler.__init__ up to the initial step: claims initial_lr.
  void ClaimInitialLrs(ParamGroups& groups);

  int64_t last_epoch_ = -1;
  std::vector<double> base_lrs_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_EPOCH_SCHEDULER_H_
