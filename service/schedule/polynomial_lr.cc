#include "service/schedule/polynomial_lr.h"

#include <algorithm>
#include <cmath>

namespace lrsched {

void PolynomialLR::Update(ParamGroups& groups) {
  if (last_epoch_ == 0 || last_epoch_ > total_iters_) return;
  const double total = static_cast<double>(total_iters_);
  const double decay =
      std::pow((1.0 - static_cast<double>(last_epoch_) / total) /
                   (1.0 - static_cast<double>(last_epoch_ - 1) / total),
               power_);
  for (double& lr : groups.lrs) lr *= decay;
}

void PolynomialLR::UpdateClosedForm(ParamGroups& groups) {
  const double decay =
      std::pow(1.0 - static_cast<double>(std::min(total_iters_, last_epoch_)) /
                         static_cast<double>(total_iters_),
               power_);
  for (size_t g = 0; g < groups.lrs.size(); ++g) groups.lrs[g] = base_lrs_[g] * decay;
}

}  // namespace lrsched
