// ExponentialLR: lr * gamma every step.
#ifndef LRSCHED_SERVICE_SCHEDULE_EXPONENTIAL_LR_H_
#define LRSCHED_SERVICE_SCHEDULE_EXPONENTIAL_LR_H_

#include "service/schedule/epoch_scheduler.h"

namespace lrsched {

class ExponentialLR final : public EpochScheduler {
 public:
  explicit ExponentialLR(double gamma) : gamma_(gamma) {}

 protected:
  void Update(ParamGroups& groups) override;
  void UpdateClosedForm(ParamGroups& groups) override;

 private:
  const double gamma_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_EXPONENTIAL_LR_H_
