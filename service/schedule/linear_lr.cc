#include "service/schedule/linear_lr.h"

#include <algorithm>

namespace lrsched {

void LinearLR::Update(ParamGroups& groups) {
  if (last_epoch_ == 0) {
    for (double& lr : groups.lrs) lr *= start_factor_;
    return;
  }
  if (last_epoch_ > total_iters_) return;
  const double delta = end_factor_ - start_factor_;
  const double ratio =
      1.0 + delta / (static_cast<double>(total_iters_) * start_factor_ +
                     static_cast<double>(last_epoch_ - 1) * delta);
  for (double& lr : groups.lrs) lr *= ratio;
}

void LinearLR::UpdateClosedForm(ParamGroups& groups) {
  const double factor =
      start_factor_ + (end_factor_ - start_factor_) *
                          static_cast<double>(std::min(total_iters_, last_epoch_)) /
                          static_cast<double>(total_iters_);
  for (size_t g = 0; g < groups.lrs.size(); ++g) groups.lrs[g] = base_lrs_[g] * factor;
}

}  // namespace lrsched
