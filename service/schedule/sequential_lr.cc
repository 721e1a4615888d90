#include "service/schedule/sequential_lr.h"

#include <algorithm>
#include <utility>

namespace lrsched {

SequentialLR::SequentialLR(std::vector<std::unique_ptr<Scheduler>> children,
                           std::vector<int64_t> milestones)
    : children_(std::move(children)),
      milestones_(std::move(milestones)),
      ends_on_plateau_(children_.back()->TakesMetric()),
      last_step_(ComputeLastStep()) {}

int64_t SequentialLR::ComputeLastStep() const {
  // Child i runs steps [start, end]; its own step count restarts at start.
  for (size_t i = 0; i < children_.size(); ++i) {
    const int64_t start = i == 0 ? 0 : milestones_[i - 1];
    int64_t end = i + 1 < children_.size() ? milestones_[i] - 1 : kMaxStep;
    if (ends_on_plateau_ && i + 2 == children_.size()) ++end;
    const int64_t child_last = children_[i]->LastStep();
    if (child_last < end - start) return start + child_last;
  }
  return kMaxStep;
}

void SequentialLR::Construct(ParamGroups& groups) {
  // The user constructs every child before SequentialLR; each takes its own
  // initial step. SequentialLR then resets the rates, undoes those steps and
  // repeats the first child's alone.
  for (auto& child : children_) child->Construct(groups);
  groups.lrs = groups.initial_lrs;
  for (auto& child : children_) child->UndoInitialStep();
  children_.front()->Step(groups, 0);
  last_epoch_ = 0;
}

void SequentialLR::Step(ParamGroups& groups, double metric) {
  ++last_epoch_;
  const size_t index =
      std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) -
      milestones_.begin();
  Scheduler& child = *children_[index];
  const bool at_milestone = index > 0 && milestones_[index - 1] == last_epoch_;
  if (ends_on_plateau_ && index + 1 == children_.size()) {
    if (at_milestone) {
      children_[index - 1]->Step(groups, metric);
    } else {
      child.Step(groups, metric);
    }
  } else if (at_milestone) {
    child.Restart(groups);
  } else {
    child.Step(groups, metric);
  }
}

bool SequentialLR::NextStepTakesMetric() const {
  return ends_on_plateau_ && last_epoch_ + 1 > milestones_.back();
}

bool SequentialLR::CyclesMomentum() const {
  return std::any_of(children_.begin(), children_.end(),
                     [](const auto& child) { return child->CyclesMomentum(); });
}

}  // namespace lrsched
