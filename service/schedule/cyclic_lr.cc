#include "service/schedule/cyclic_lr.h"

#include <cmath>
#include <utility>

namespace lrsched {
namespace {

// PyTorch's cycle = math.floor(1 + last_epoch / total_size).
double CycleOf(int64_t step, double total_size) {
  return std::floor(1 + static_cast<double>(step) / total_size);
}

}  // namespace

CyclicLR::CyclicLR(Params params)
    : params_(std::move(params)),
      total_size_(params_.step_size_up + params_.step_size_down),
      step_ratio_(params_.step_size_up / total_size_),
      last_step_(ComputeLastStep()) {}

int64_t CyclicLR::ComputeLastStep() const {
  if (params_.mode == Mode::kTriangular2) {
    // The last step whose cycle is at most 1024; a cycle spans total_size
    // steps, so search near 1024 cycles with PyTorch's own expression.
    const double estimate = 1024 * total_size_;
    if (estimate >= static_cast<double>(kMaxStep)) return kMaxStep;
    int64_t step = static_cast<int64_t>(estimate);
    while (step > 0 && CycleOf(step, total_size_) > 1024) --step;
    while (CycleOf(step + 1, total_size_) <= 1024) ++step;
    return step;
  }
  if (params_.mode == Mode::kExpRange && params_.gamma > 1) {
    const double estimate = std::log(1.7976931348623157e308) / std::log(params_.gamma);
    if (estimate >= static_cast<double>(kMaxStep)) return kMaxStep;
    const auto finite = [this](int64_t step) {
      return std::isfinite(std::pow(params_.gamma, static_cast<double>(step)));
    };
    int64_t step = static_cast<int64_t>(estimate);
    while (step > 0 && !finite(step)) --step;
    while (finite(step + 1)) ++step;
    return step;
  }
  return kMaxStep;
}

void CyclicLR::Construct(ParamGroups& groups) {
  // PyTorch sets group['lr'] = base_lr before _LRScheduler.__init__, whose
  // initial step still computes from initial_lr; base_lr applies afterwards.
  groups.lrs = params_.base_lrs;
  if (params_.cycle_momentum) groups.momentums = params_.base_momentums;
  EpochScheduler::Construct(groups);
  base_lrs_ = params_.base_lrs;
}

void CyclicLR::Scale(double factor) {
  EpochScheduler::Scale(factor);
  for (double& max_lr : params_.max_lrs) max_lr *= factor;
}

double CyclicLR::ScaleFn(int64_t step, double cycle) const {
  switch (params_.mode) {
    case Mode::kTriangular:
      return 1.0;
    case Mode::kTriangular2:
      return 1 / std::pow(2.0, cycle - 1);
    case Mode::kExpRange:
      return std::pow(params_.gamma, static_cast<double>(step));
  }
  return 1.0;
}

void CyclicLR::Update(ParamGroups& groups) {
  const double cycle = CycleOf(last_epoch_, total_size_);
  const double x = 1. + static_cast<double>(last_epoch_) / total_size_ - cycle;
  const double scale_factor =
      x <= step_ratio_ ? x / step_ratio_ : (x - 1) / (step_ratio_ - 1);
  const double scale = ScaleFn(last_epoch_, cycle);
  for (size_t g = 0; g < groups.lrs.size(); ++g) {
    const double base_height = (params_.max_lrs[g] - base_lrs_[g]) * scale_factor;
    groups.lrs[g] = base_lrs_[g] + base_height * scale;
  }
  if (!params_.cycle_momentum) return;
  for (size_t g = 0; g < groups.momentums.size(); ++g) {
    const double base_height =
        (params_.max_momentums[g] - params_.base_momentums[g]) * scale_factor;
    groups.momentums[g] = params_.max_momentums[g] - base_height * scale;
  }
}

}  // namespace lrsched
