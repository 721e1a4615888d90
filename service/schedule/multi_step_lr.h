// MultiStepLR: lr * gamma**k at a milestone listed k times.
#ifndef LRSCHED_SERVICE_SCHEDULE_MULTI_STEP_LR_H_
#define LRSCHED_SERVICE_SCHEDULE_MULTI_STEP_LR_H_

#include <cstdint>
#include <vector>

#include "service/schedule/epoch_scheduler.h"

namespace lrsched {

class MultiStepLR final : public EpochScheduler {
 public:
  // Requires milestones >= 0, in any order, repeats allowed.
  MultiStepLR(std::vector<int64_t> milestones, double gamma);

 protected:
  void Update(ParamGroups& groups) override;
  void UpdateClosedForm(ParamGroups& groups) override;

 private:
  // Sorted, with repeats: PyTorch's sorted(Counter.elements()).
  std::vector<int64_t> milestones_;
  // Distinct milestones and gamma**count of each, computed as PyTorch does:
  // one power, then one multiply.
  std::vector<int64_t> distinct_;
  std::vector<double> decay_;
  const double gamma_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_MULTI_STEP_LR_H_
