#include "service/schedule/one_cycle_lr.h"

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
}

absl::StatusOr<OneCycleLR> OneCycleLR::Create(Params params) {
  OneCycleLR scheduler(std::move(params));
  // Step t uses the first phase whose end is >= t (the last phase takes the
  // rest) and divides by that phase's length: reject a zero length that some
  // step in 0..total_steps would use.
  const double total = static_cast<double>(scheduler.params_.total_steps);
  double first_step = 0;  // the smallest step not taken by earlier phases
  double start = 0;
  for (size_t i = 0; i < scheduler.phases_.size(); ++i) {
    const double end = scheduler.phases_[i].end_step;
    const bool last = i + 1 == scheduler.phases_.size();
    const double last_step = last ? total : std::floor(end);
    if (first_step <= last_step && end - start == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "one_cycle_lr.pct_start: ", scheduler.params_.pct_start, " with ",
          scheduler.params_.total_steps, " total steps gives phase ", i + 1,
          " zero length (PyTorch divides by zero at step ",
          static_cast<int64_t>(first_step), ")"));
    }
    if (!last) first_step = std::max(first_step, std::floor(end) + 1);
    start = end;
  }
  return scheduler;
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
