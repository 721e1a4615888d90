// CosineAnnealingLR through PyTorch's recursive form, which is not clamped at
// t_max: it rises back towards the base rate with period 2 * t_max.
#ifndef LRSCHED_SERVICE_SCHEDULE_COSINE_ANNEALING_LR_H_
#define LRSCHED_SERVICE_SCHEDULE_COSINE_ANNEALING_LR_H_

#include <cstdint>

#include "service/schedule/epoch_scheduler.h"

namespace lrsched {

class CosineAnnealingLR final : public EpochScheduler {
 public:
  // Requires 1 <= t_max <= kMaxCosineTMax.
  CosineAnnealingLR(int64_t t_max, double eta_min) : t_max_(t_max), eta_min_(eta_min) {}

  void Scale(double factor) override {
    EpochScheduler::Scale(factor);
    eta_min_ *= factor;
  }

 protected:
  void Update(ParamGroups& groups) override;
  void UpdateClosedForm(ParamGroups& groups) override;

 private:
  const int64_t t_max_;
  double eta_min_;
};

// Above this half period, 1 + cos(pi * (t - 1) / t_max) rounds to 0 next to
// the trough and PyTorch divides by zero.
inline constexpr int64_t kMaxCosineTMax = 100'000'000;

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_COSINE_ANNEALING_LR_H_
