// PolynomialLR: decay to 0 over total_iters steps with the given power.
#ifndef LRSCHED_SERVICE_SCHEDULE_POLYNOMIAL_LR_H_
#define LRSCHED_SERVICE_SCHEDULE_POLYNOMIAL_LR_H_

#include <cstdint>

#include "service/schedule/epoch_scheduler.h"

namespace lrsched {

class PolynomialLR final : public EpochScheduler {
 public:
  // Requires total_iters >= 0 (>= 1 where it is restarted), power >= 0.
  PolynomialLR(int64_t total_iters, double power)
      : total_iters_(total_iters), power_(power) {}

 protected:
  void Update(ParamGroups& groups) override;
  void UpdateClosedForm(ParamGroups& groups) override;

 private:
  const int64_t total_iters_;
  const double power_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_POLYNOMIAL_LR_H_
