#include "service/schedule/chained_scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

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

void ChainedScheduler::SaveState(v1::SchedulerState& state) const {
  state.clear_children();
  for (const auto& child : children_) child->SaveState(*state.add_children());
}

absl::Status ChainedScheduler::RestoreState(const v1::SchedulerState& state) {
  if (state.children_size() != static_cast<int>(children_.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("scheduler state: ", state.children_size(),
                     " children for a ChainedScheduler of ", children_.size()));
  }
  for (size_t i = 0; i < children_.size(); ++i) {
    if (absl::Status status = children_[i]->RestoreState(state.children(i));
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace lrsched
