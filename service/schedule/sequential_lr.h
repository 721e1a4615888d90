// SequentialLR: children one after another, switching at milestones. A child
// taking over restarts through step(0), as in PyTorch.
//
// Beyond PyTorch, the last child may be ReduceLROnPlateau: the child before it
// then also takes the step of the last milestone m (so lr(m) is where a
// warm-up ends), and ReduceLROnPlateau continues from lr(m), the metric of
// step t >= m deciding lr(t + 1).
#ifndef LRSCHED_SERVICE_SCHEDULE_SEQUENTIAL_LR_H_
#define LRSCHED_SERVICE_SCHEDULE_SEQUENTIAL_LR_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "service/schedule/scheduler.h"

namespace lrsched {

class SequentialLR final : public Scheduler {
 public:
  // Requires milestones.size() == children.size() - 1, strictly increasing,
  // each >= 1; children that are not composites; ReduceLROnPlateau last only.
  SequentialLR(std::vector<std::unique_ptr<Scheduler>> children,
               std::vector<int64_t> milestones);

  void Construct(ParamGroups& groups) override;
  void Step(ParamGroups& groups, double metric) override;
  // Never called: SequentialLR cannot be a child.
  void Restart(ParamGroups& /*groups*/) override {}
  void UndoInitialStep() override { --last_epoch_; }
  bool NextStepTakesMetric() const override;
  bool TakesMetric() const override { return ends_on_plateau_; }
  int64_t FirstMetricStep() const override {
    return ends_on_plateau_ ? milestones_.back() : kMaxStep;
  }
  void Scale(double factor) override {
    for (auto& child : children_) child->Scale(factor);
  }
  const ReduceLROnPlateau* Plateau() const override { return children_.back()->Plateau(); }
  bool CyclesMomentum() const override;
  int64_t LastStep() const override { return last_step_; }

 private:
  int64_t ComputeLastStep() const;

  std::vector<std::unique_ptr<Scheduler>> children_;
  std::vector<int64_t> milestones_;
  bool ends_on_plateau_;
  int64_t last_step_;
  int64_t last_epoch_ = -1;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_SEQUENTIAL_LR_H_
