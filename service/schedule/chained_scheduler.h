// ChainedScheduler: every child steps on every step, in order, on the same
// learning rates, so that their factors compose.
#ifndef LRSCHED_SERVICE_SCHEDULE_CHAINED_SCHEDULER_H_
#define LRSCHED_SERVICE_SCHEDULE_CHAINED_SCHEDULER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "service/schedule/scheduler.h"

namespace lrsched {

class ChainedScheduler final : public Scheduler {
 public:
  // Requires at least one child; no composites, no ReduceLROnPlateau.
  explicit ChainedScheduler(std::vector<std::unique_ptr<Scheduler>> children);

  void Construct(ParamGroups& groups) override;
  void Step(ParamGroups& groups, double metric) override;
  // Never called: ChainedScheduler cannot be a child.
  void Restart(ParamGroups& /*groups*/) override {}
  void UndoInitialStep() override {}
  bool CyclesMomentum() const override;
  void Scale(double factor) override {
    for (auto& child : children_) child->Scale(factor);
  }
  int64_t LastStep() const override;

 private:
  std::vector<std::unique_ptr<Scheduler>> children_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_CHAINED_SCHEDULER_H_
