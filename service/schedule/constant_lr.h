// ConstantLR: lr * factor until total_iters, then lr * (1 / factor).
#ifndef LRSCHED_SERVICE_SCHEDULE_CONSTANT_LR_H_
#define LRSCHED_SERVICE_SCHEDULE_CONSTANT_LR_H_

#include <cstdint>

#include "service/schedule/epoch_scheduler.h"

namespace lrsched {

class ConstantLR final : public EpochScheduler {
 public:
  // Requires 0 < factor <= 1 (0 only with total_iters == 0), total_iters >= 0.
  ConstantLR(double factor, int64_t total_iters)
      : factor_(factor), total_iters_(total_iters) {}

 protected:
  void Update(ParamGroups& groups) override;
  void UpdateClosedForm(ParamGroups& groups) override;

 private:
  const double factor_;
  const int64_t total_iters_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_CONSTANT_LR_H_
