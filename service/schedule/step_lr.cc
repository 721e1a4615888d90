#include "service/schedule/step_lr.h"

#include <cmath>

namespace lrsched {

void StepLR::Update(ParamGroups& groups) {
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return;
  for (double& lr : groups.lrs) lr *= gamma_;
}

void StepLR::UpdateClosedForm(ParamGroups& groups) {
  const double decay =
      std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_));
  for (size_t g = 0; g < groups.lrs.size(); ++g) groups.lrs[g] = base_lrs_[g] * decay;
}

}  // namespace lrsched
