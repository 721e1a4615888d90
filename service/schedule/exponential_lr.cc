#include "service/schedule/exponential_lr.h"

#include <cmath>

namespace lrsched {

void ExponentialLR::Update(ParamGroups& groups) {
  if (last_epoch_ == 0) return;
  for (double& lr : groups.lrs) lr *= gamma_;
}

void ExponentialLR::UpdateClosedForm(ParamGroups& groups) {
  const double decay = std::pow(gamma_, static_cast<double>(last_epoch_));
  for (size_t g = 0; g < groups.lrs.size(); ++g) groups.lrs[g] = base_lrs_[g] * decay;
}

}  // namespace lrsched
