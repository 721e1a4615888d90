// ReduceLROnPlateau: reduces the learning rate when the metric stops
// improving. It takes no initial step, so lr(0) is the base rate, and the
// metric of step t decides lr(t + 1).
#ifndef LRSCHED_SERVICE_SCHEDULE_REDUCE_LR_ON_PLATEAU_H_
#define LRSCHED_SERVICE_SCHEDULE_REDUCE_LR_ON_PLATEAU_H_

#include <cstdint>
#include <vector>

#include "service/schedule/scheduler.h"

namespace lrsched {

class ReduceLROnPlateau final : public Scheduler {
 public:
  struct Params {
    bool mode_max = false;       // else min
    double factor = 0.1;         // in [0, 1)
    int64_t patience = 10;       // >= 0
    double threshold = 1e-4;     // >= 0
    bool threshold_abs = false;  // else rel
    int64_t cooldown = 0;        // >= 0
    std::vector<double> min_lrs;  // one per group
    double eps = 1e-8;           // >= 0
  };

  explicit ReduceLROnPlateau(Params params);

  // PyTorch's constructor touches neither lr nor initial_lr.
  void Construct(ParamGroups& /*groups*/) override {}
  void Step(ParamGroups& groups, double metric) override;
  // Never called: ReduceLROnPlateau cannot take over at a milestone.
  void Restart(ParamGroups& /*groups*/) override {}
  // PyTorch's last_epoch here changes no rate, so it is not kept.
  void UndoInitialStep() override {}
  bool NextStepTakesMetric() const override { return true; }
  bool TakesMetric() const override { return true; }
  int64_t FirstMetricStep() const override { return 0; }
  const ReduceLROnPlateau* Plateau() const override { return this; }
  void Scale(double factor) override {
    for (double& min_lr : params_.min_lrs) min_lr *= factor;
  }

  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  int64_t cooldown_counter() const { return cooldown_counter_; }

 private:
  bool IsBetter(double metric) const;

  Params params_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_REDUCE_LR_ON_PLATEAU_H_
