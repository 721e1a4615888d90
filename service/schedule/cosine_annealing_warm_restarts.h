// CosineAnnealingWarmRestarts: cosine cycles of t_0 * t_mult**i steps, each
// computed from the base rate (an override lasts one step).
#ifndef LRSCHED_SERVICE_SCHEDULE_COSINE_ANNEALING_WARM_RESTARTS_H_
#define LRSCHED_SERVICE_SCHEDULE_COSINE_ANNEALING_WARM_RESTARTS_H_

#include <cstdint>

#include "service/schedule/epoch_scheduler.h"

namespace lrsched {

class CosineAnnealingWarmRestarts final : public EpochScheduler {
 public:
  // Requires t_0 >= 1, t_mult >= 1.
  CosineAnnealingWarmRestarts(int64_t t_0, int64_t t_mult, double eta_min)
      : t_0_(t_0), t_mult_(t_mult), eta_min_(eta_min), t_i_(t_0) {}

  void Construct(ParamGroups& groups) override;
  void Step(ParamGroups& groups, double metric) override;
  void Restart(ParamGroups& groups) override;
  void Scale(double factor) override {
    EpochScheduler::Scale(factor);
    eta_min_ *= factor;
  }

 protected:
  void Update(ParamGroups& groups) override;

 private:
  const int64_t t_0_;
  const int64_t t_mult_;
  double eta_min_;
  int64_t t_cur_ = -1;
  int64_t t_i_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_COSINE_ANNEALING_WARM_RESTARTS_H_
