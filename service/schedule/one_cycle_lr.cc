#include "service/schedule/one_cycle_lr.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lrsched {
namespace {
constexpr double kPi = 3.141592653589793;  // Python's math.pi
}  // namespace

OneCycleLR::OneCycleLR(Params params) : params_(std::move(params)) {
  const double total = static_cast<double>(params_.total_steps);
  const double last_end = static_cast<double>(params_.total_steps - 1);
  if (params_.three_phase) {
    phases_ = {
        {params_.pct_start * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
        {2 * params_.pct_start * total - 2, kMaxLr, kInitialLr, kBaseMomentum, kMaxMomentum},
        {last_end, kInitialLr, kMinLr, kMaxMomentum, kMaxMomentum},
    };
  } else {
    phases_ = {
        {params_.pct_start * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
        {last_end, kMaxLr, kMinLr, kBaseMomentum, kMaxMomentum},
    };
  }
  for (double max_lr : params_.max_lrs) {
    initial_lrs_.push_back(max_lr / params_.div_factor);
    min_lrs_.push_back(initial_lrs_.back() / params_.final_div_factor);
  }
  last_step_ = FirstStepDividingByZero() - 1;
}

absl::StatusOr<OneCycleLR> OneCycleLR::Create(Params params) {
  OneCycleLR scheduler(std::move(params));
  // A zero-length first phase holds step 0, which PyTorch's constructor
  // computes, and so does the second of three, which is then exactly as long
  // as the first. Any other zero length is the last phase's, which holds
  // every step from its first to total_steps: PyTorch computes the steps
  // before it and raises from there on, so the schedule ends at the step
  // before (doc/adr/0001).
  if (scheduler.last_step_ < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "one_cycle_lr.pct_start: ", scheduler.params_.pct_start, " with ",
        scheduler.params_.total_steps,
        " total steps gives the first phase zero length (PyTorch divides by zero at step 0)"));
  }
  return scheduler;
}

int64_t OneCycleLR::FirstStepDividingByZero() const {
  // Step t uses the first phase whose end is >= t (the last phase takes the
  // rest) and divides by that phase's length.
  int64_t first_step = 0;  // the smallest step not taken by earlier phases
  double start = 0;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const double end = phases_[i].end_step;
    const int64_t last_step =
        i + 1 == phases_.size() ? params_.total_steps : static_cast<int64_t>(std::floor(end));
    if (first_step <= last_step && end - start == 0) return first_step;
    first_step = std::max(first_step, last_step + 1);
    start = end;
  }
  return params_.total_steps + 1;
}

void OneCycleLR::Construct(ParamGroups& groups) {
  // OneCycleLR overwrites initial_lr rather than setting a default.
  groups.initial_lrs = initial_lrs_;
  if (params_.cycle_momentum) groups.momentums = params_.max_momentums;
  EpochScheduler::Construct(groups);
}

void OneCycleLR::Scale(double factor) {
  EpochScheduler::Scale(factor);
  // group['initial_lr'], group['max_lr'] and group['min_lr'] in PyTorch.
  for (double& lr : initial_lrs_) lr *= factor;
  for (double& lr : params_.max_lrs) lr *= factor;
  for (double& lr : min_lrs_) lr *= factor;
}

double OneCycleLR::Value(Key key, size_t group) const {
  switch (key) {
    case kInitialLr:
      return initial_lrs_[group];
    case kMaxLr:
      return params_.max_lrs[group];
    case kMinLr:
      return min_lrs_[group];
    case kMaxMomentum:
      return params_.max_momentums[group];
    case kBaseMomentum:
      return params_.base_momentums[group];
  }
  return 0;
}

double OneCycleLR::Anneal(double start, double end, double pct) const {
  if (params_.cos) {
    const double cos_out = std::cos(kPi * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
  }
  return (end - start) * pct + start;
}

void OneCycleLR::Update(ParamGroups& groups) {
  const double step = static_cast<double>(last_epoch_);
  double start_step = 0;
  const Phase* phase = &phases_.back();
  for (const Phase& candidate : phases_) {
    if (step <= candidate.end_step || &candidate == &phases_.back()) {
      phase = &candidate;
      break;
    }
    start_step = candidate.end_step;
  }
  const double pct = (step - start_step) / (phase->end_step - start_step);
  for (size_t g = 0; g < groups.lrs.size(); ++g) {
    groups.lrs[g] = Anneal(Value(phase->start_lr, g), Value(phase->end_lr, g), pct);
    if (params_.cycle_momentum) {
      groups.momentums[g] =
          Anneal(Value(phase->start_momentum, g), Value(phase->end_momentum, g), pct);
    }
  }
}

}  // namespace lrsched
