#include "service/schedule/cosine_annealing_lr.h"

#include <cmath>

namespace lrsched {
namespace {
constexpr double kPi = 3.141592653589793;  // Python's math.pi
}  // namespace

void CosineAnnealingLR::Update(ParamGroups& groups) {
  if (last_epoch_ == 0) return;
  const double t_max = static_cast<double>(t_max_);
  // The step after a trough, where the ratio below would divide by zero,
  // takes PyTorch's additive branch instead.
  if ((last_epoch_ - 1 - t_max_) % (2 * t_max_) == 0) {
    const double rise = 1 - std::cos(kPi / t_max);
    for (size_t g = 0; g < groups.lrs.size(); ++g) {
      groups.lrs[g] = groups.lrs[g] + (base_lrs_[g] - eta_min_) * rise / 2;
    }
    return;
  }
  const double ratio = (1 + std::cos(kPi * static_cast<double>(last_epoch_) / t_max)) /
                       (1 + std::cos(kPi * static_cast<double>(last_epoch_ - 1) / t_max));
  for (double& lr : groups.lrs) lr = ratio * (lr - eta_min_) + eta_min_;
}

void CosineAnnealingLR::UpdateClosedForm(ParamGroups& groups) {
  const double cosine =
      1 + std::cos(kPi * static_cast<double>(last_epoch_) / static_cast<double>(t_max_));
  for (size_t g = 0; g < groups.lrs.size(); ++g) {
    groups.lrs[g] = eta_min_ + (base_lrs_[g] - eta_min_) * cosine / 2;
  }
}

}  // namespace lrsched
