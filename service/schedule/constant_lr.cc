#include "service/schedule/constant_lr.h"

#include <cstddef>

namespace lrsched {

void ConstantLR::Update(ParamGroups& groups) {
  if (last_epoch_ == 0) {
    for (double& lr : groups.lrs) lr *= factor_;
    return;
  }
  if (last_epoch_ != total_iters_) return;
  // PyTorch restores with lr * (1.0 / factor), not lr / factor: the bits differ.
  const double restore = 1.0 / factor_;
  for (double& lr : groups.lrs) lr *= restore;
}

void ConstantLR::UpdateClosedForm(ParamGroups& groups) {
  const double factor = factor_ + (last_epoch_ >= total_iters_ ? 1.0 - factor_ : 0.0);
  for (size_t g = 0; g < groups.lrs.size(); ++g) groups.lrs[g] = base_lrs_[g] * factor;
}

}  // namespace lrsched
