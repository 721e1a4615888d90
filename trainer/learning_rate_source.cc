#include "trainer/learning_rate_source.h"

#include <limits>

namespace lrsched::trainer {

absl::StatusOr<StepRates> LocalLearningRateSource::Next() {
  if (started_) {
    if (schedule_.step() >= schedule_.last_step()) {
      return absl::OutOfRangeError("the schedule has ended");
    }
    schedule_.Step(metric_.value_or(std::numeric_limits<double>::quiet_NaN()));
    metric_.reset();
  }
  started_ = true;
  return StepRates{schedule_.step(), schedule_.lrs(), schedule_.momentums()};
}

}  // namespace lrsched::trainer
