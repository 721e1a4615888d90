#include "service/schedule/chained_scheduler.h"

#include <algorithm>
#include <utility>

namespace lrsched {

ChainedScheduler::ChainedScheduler(std::vector<std::unique_ptr<Scheduler>> children)
    : children_(std::move(children)) {}

void ChainedScheduler::Construct(ParamGroups& groups) {
  for (auto& child : children_) child->Construct(groups);
}

void ChainedScheduler::Step(ParamGroups& groups, double metric) {
  for (auto& child : children_) child->Step(groups, metric);
}

bool ChainedScheduler::CyclesMomentum() const {
  return std::any_of(children_.begin(), children_.end(),
                     [](const auto& child) { return child->CyclesMomentum(); });
}

int64_t ChainedScheduler::LastStep() const {
  int64_t last = kMaxStep;
  for (const auto& child : children_) last = std::min(last, child->LastStep());
  return last;
}

}  // namespace lrsched
