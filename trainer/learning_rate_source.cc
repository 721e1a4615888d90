#include "trainer/learning_rate_source.h"

#include <limits>
#include <string>

namespace lrsched::trainer {

absl::StatusOr<StepRates> LocalLearningRateSource::Next() {
  if (started_) {
    if (schedule_.step() >= schedule_.last_step()) {
      return absl::OutOfRangeError("the schedule has ended");
    }
    const bool stepped =
        schedule_.Step(metric_.value_or(std::numeric_limits<double>::quiet_NaN()));
    metric_.reset();
    if (!stepped) return absl::OutOfRangeError("the schedule has ended: " + schedule_.end_reason());
  }
  started_ = true;
  return StepRates{schedule_.step(), schedule_.lrs(), schedule_.momentums()};
}

}  // namespace lrsched::trainer
