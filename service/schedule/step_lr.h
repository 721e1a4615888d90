// StepLR: lr * gamma every step_size steps.
#ifndef LRSCHED_SERVICE_SCHEDULE_STEP_LR_H_
#define LRSCHED_SERVICE_SCHEDULE_STEP_LR_H_

#include <cstdint>

#include "service/schedule/epoch_scheduler.h"

namespace lrsched {

class StepLR final : public EpochScheduler {
 public:
  // Requires step_size >= 1.
  StepLR(int64_t step_size, double gamma) : step_size_(step_size), gamma_(gamma) {}

 protected:
  void Update(ParamGroups& groups) override;
  void UpdateClosedForm(ParamGroups& groups) override;

 private:
  const int64_t step_size_;
  const double gamma_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_STEP_LR_H_
