#include "service/schedule/cosine_annealing_warm_restarts.h"

#include <cmath>
#include <limits>

namespace lrsched {
namespace {
constexpr double kPi = 3.141592653589793;  // Python's math.pi
}  // namespace

void CosineAnnealingWarmRestarts::Construct(ParamGroups& groups) {
  ClaimInitialLrs(groups);
  Restart(groups);
}

void CosineAnnealingWarmRestarts::Step(ParamGroups& groups, double /*metric*/) {
  // PyTorch's step() treats a scheduler whose last_epoch went back to -1
  // (SequentialLR's undo) as step(0).
  if (last_epoch_ < 0) {
    Restart(groups);
    return;
  }
  ++last_epoch_;
  ++t_cur_;
  if (t_cur_ >= t_i_) {
    t_cur_ -= t_i_;
    // Python's integers do not overflow; a cycle this long is never finished.
    t_i_ = t_i_ > std::numeric_limits<int64_t>::max() / t_mult_
               ? std::numeric_limits<int64_t>::max()
               : t_i_ * t_mult_;
  }
  Update(groups);
}

void CosineAnnealingWarmRestarts::Restart(ParamGroups& groups) {
  last_epoch_ = 0;
  t_i_ = t_0_;
  t_cur_ = 0;
  Update(groups);
}

void CosineAnnealingWarmRestarts::Update(ParamGroups& groups) {
  const double cosine = 1 + std::cos(kPi * static_cast<double>(t_cur_) /
                                     static_cast<double>(t_i_));
  for (size_t g = 0; g < groups.lrs.size(); ++g) {
    groups.lrs[g] = eta_min_ + (base_lrs_[g] - eta_min_) * cosine / 2;
  }
}

}  // namespace lrsched
