#include "service/schedule/reduce_lr_on_plateau.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace lrsched {

ReduceLROnPlateau::ReduceLROnPlateau(Params params)
    : params_(std::move(params)),
      best_(params_.mode_max ? -std::numeric_limits<double>::infinity()
                             : std::numeric_limits<double>::infinity()) {}

// IEEE comparisons as in PyTorch: a tie is not an improvement, NaN never is,
// and in REL mode a negative best scales the wrong way (kept on purpose).
bool ReduceLROnPlateau::IsBetter(double metric) const {
  if (!params_.mode_max) {
    return params_.threshold_abs ? metric < best_ - params_.threshold
                                 : metric < best_ * (1. - params_.threshold);
  }
  return params_.threshold_abs ? metric > best_ + params_.threshold
                               : metric > best_ * (params_.threshold + 1.);
}

void ReduceLROnPlateau::Step(ParamGroups& groups, double metric) {
  if (IsBetter(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > params_.patience) {
    for (size_t g = 0; g < groups.lrs.size(); ++g) {
      const double old_lr = groups.lrs[g];
      const double new_lr = std::max(old_lr * params_.factor, params_.min_lrs[g]);
      if (old_lr - new_lr > params_.eps) groups.lrs[g] = new_lr;
    }
    // Armed even when eps skipped every group, as in PyTorch.
    cooldown_counter_ = params_.cooldown;
    num_bad_epochs_ = 0;
  }
}

}  // namespace lrsched
