// OneCycleLR: the 1cycle policy in two or three phases, computed from the step
// number alone. Steps 0..LastStep() exist: total_steps, or total_steps - 1
// when the last phase has zero length (pct_start = 1 with two phases; with
// three, 2 * pct_start * total_steps - 2 == total_steps - 1).
#ifndef LRSCHED_SERVICE_SCHEDULE_ONE_CYCLE_LR_H_
#define LRSCHED_SERVICE_SCHEDULE_ONE_CYCLE_LR_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "service/schedule/epoch_scheduler.h"

namespace lrsched {

class OneCycleLR final : public EpochScheduler {
 public:
  struct Params {
    std::vector<double> max_lrs;  // one per group
    int64_t total_steps = 1;
    double pct_start = 0.3;
    bool cos = true;  // else linear
    bool cycle_momentum = true;
    std::vector<double> base_momentums;  // one per group
    std::vector<double> max_momentums;   // one per group
    double div_factor = 25.;
    double final_div_factor = 1e4;
    bool three_phase = false;
  };

  // INVALID_ARGUMENT: step 0 falls into a phase of zero length, where
  // PyTorch's constructor divides by zero (pct_start * total_steps == 1).
  // A zero-length last phase is valid: PyTorch computes every step before it
  // and divides by zero at total_steps, so the schedule ends at the step
  // before.
  static absl::StatusOr<OneCycleLR> Create(Params params);

  void Construct(ParamGroups& groups) override;
  bool CyclesMomentum() const override { return params_.cycle_momentum; }
  int64_t LastStep() const override { return last_step_; }
  void Scale(double factor) override;

 protected:
  void Update(ParamGroups& groups) override;

 private:
  // The values of each phase's two ends, by PyTorch's group keys.
  enum Key { kInitialLr, kMaxLr, kMinLr, kMaxMomentum, kBaseMomentum };
  struct Phase {
    double end_step;
    Key start_lr, end_lr, start_momentum, end_momentum;
  };

  explicit OneCycleLR(Params params);
  // The first step in 0..total_steps that falls into a phase of zero length,
  // where PyTorch divides by zero; total_steps + 1 if none does.
  int64_t FirstStepDividingByZero() const;
  double Anneal(double start, double end, double pct) const;
  double Value(Key key, size_t group) const;

  Params params_;
  std::vector<Phase> phases_;
  std::vector<double> initial_lrs_;
  std::vector<double> min_lrs_;
  int64_t last_step_ = 0;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_ONE_CYCLE_LR_H_
