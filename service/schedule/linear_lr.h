// LinearLR: a factor moving linearly from start_factor to end_factor over
// total_iters steps, applied through PyTorch's recursive ratio.
#ifndef LRSCHED_SERVICE_SCHEDULE_LINEAR_LR_H_
#define LRSCHED_SERVICE_SCHEDULE_LINEAR_LR_H_

#include <cstdint>

#include "service/schedule/epoch_scheduler.h"

namespace lrsched {

class LinearLR final : public EpochScheduler {
 public:
  // Requires 0 < start_factor <= 1, 0 <= end_factor <= 1, total_iters >= 0
  // (>= 1 where it is restarted).
  LinearLR(double start_factor, double end_factor, int64_t total_iters)
      : start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {}

 protected:
  void Update(ParamGroups& groups) override;
  void UpdateClosedForm(ParamGroups& groups) override;

 private:
  const double start_factor_;
  const double end_factor_;
  const int64_t total_iters_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_LINEAR_LR_H_
