#include "service/schedule/multi_step_lr.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace lrsched {

MultiStepLR::MultiStepLR(std::vector<int64_t> milestones, double gamma)
    : milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  for (auto it = milestones_.begin(); it != milestones_.end();) {
    const auto end = std::upper_bound(it, milestones_.end(), *it);
    distinct_.push_back(*it);
    decay_.push_back(std::pow(gamma_, static_cast<double>(end - it)));
    it = end;
  }
}

void MultiStepLR::Update(ParamGroups& groups) {
  const auto it = std::lower_bound(distinct_.begin(), distinct_.end(), last_epoch_);
  if (it == distinct_.end() || *it != last_epoch_) return;
  const double decay = decay_[it - distinct_.begin()];
  for (double& lr : groups.lrs) lr *= decay;
}

void MultiStepLR::UpdateClosedForm(ParamGroups& groups) {
  const auto passed =
      std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) -
      milestones_.begin();
  const double decay = std::pow(gamma_, static_cast<double>(passed));
  for (size_t g = 0; g < groups.lrs.size(); ++g) groups.lrs[g] = base_lrs_[g] * decay;
}

}  // namespace lrsched
