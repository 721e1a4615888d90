// CyclicLR: the learning rate (and, inversely, momentum) cycles between two
// bounds, computed from the step number alone.
#ifndef LRSCHED_SERVICE_SCHEDULE_CYCLIC_LR_H_
#define LRSCHED_SERVICE_SCHEDULE_CYCLIC_LR_H_

#include <cstdint>
#include <vector>

#include "service/schedule/epoch_scheduler.h"

namespace lrsched {

class CyclicLR final : public EpochScheduler {
 public:
  enum class Mode { kTriangular, kTriangular2, kExpRange };

  struct Params {
    std::vector<double> base_lrs;  // one per group
    std::vector<double> max_lrs;   // one per group
    double step_size_up = 2000;    // > 0
    double step_size_down = 2000;  // >= 0
    Mode mode = Mode::kTriangular;
    double gamma = 1.0;
    bool cycle_momentum = true;
    std::vector<double> base_momentums;  // one per group
    std::vector<double> max_momentums;   // one per group
  };

  explicit CyclicLR(Params params);

  void Construct(ParamGroups& groups) override;
  bool CyclesMomentum() const override { return params_.cycle_momentum; }
  void Scale(double factor) override;
  // TRIANGULAR2 ends where PyTorch's 2.**(cycle - 1) overflows (cycle 1025),
  // EXP_RANGE with gamma > 1 where gamma**step overflows.
  int64_t LastStep() const override { return last_step_; }

 protected:
  void Update(ParamGroups& groups) override;

 private:
  // PyTorch's scale_fn at `step` given its cycle number.
  double ScaleFn(int64_t step, double cycle) const;
  int64_t ComputeLastStep() const;

  Params params_;
  const double total_size_;
  const double step_ratio_;
  const int64_t last_step_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_CYCLIC_LR_H_
