#include "service/schedule/preview.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "service/schedule/schedule.h"

namespace lrsched {

int64_t PreviewBytesPerStep(size_t groups, bool momentums) {
  // Per packed field: a tag and a length; per step: the message's tag and
  // length, and its step number.
  const int64_t field = 8 * static_cast<int64_t>(groups) + 4;
  return 12 + field * (momentums ? 2 : 1);
}

absl::StatusOr<PreviewResult> Preview(const v1::SchedulerSpec& spec,
                                      absl::Span<const double> base_lrs, int64_t steps,
                                      absl::Span<const double> metrics,
                                      int64_t max_answer_bytes) {
  if (steps < 0 || steps > kMaxPreviewSteps) {
    return absl::InvalidArgumentError(absl::StrCat(
        "steps: must be in [0, ", kMaxPreviewSteps, "], got ", steps));
  }
  auto schedule = Schedule::Create(spec, base_lrs);
  if (!schedule.ok()) return schedule.status();
  if (steps > schedule->last_step()) {
    return absl::OutOfRangeError(absl::StrCat("steps: the schedule ends at step ",
                                              schedule->last_step(), ", got ", steps));
  }
  const int64_t per_step = PreviewBytesPerStep(schedule->num_groups(), schedule->cycles_momentum());
  if (steps + 1 > max_answer_bytes / per_step) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "steps: the answer would take about ", (steps + 1) * per_step, " bytes (",
        schedule->num_groups(), " groups", schedule->cycles_momentum() ? " with momentum" : "",
        "), more than the server's limit of ", max_answer_bytes, " bytes (--max_answer_bytes); ",
        "ask at most ", max_answer_bytes / per_step - 1, " steps at a time"));
  }
  if (!metrics.empty() && !schedule->takes_metric()) {
    return absl::InvalidArgumentError("metrics: the schedule takes no metric");
  }
  if (static_cast<int64_t>(metrics.size()) > steps) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics: ", metrics.size(), " values for ", steps, " steps (at most one per step)"));
  }
  PreviewResult result;
  result.num_groups = schedule->num_groups();
  result.lrs.reserve((steps + 1) * result.num_groups);
  if (schedule->cycles_momentum()) result.momentums.reserve((steps + 1) * result.num_groups);
  const auto record = [&] {
    result.lrs.insert(result.lrs.end(), schedule->lrs().begin(), schedule->lrs().end());
    result.momentums.insert(result.momentums.end(), schedule->momentums().begin(),
                            schedule->momentums().end());
  };
  record();
  for (int64_t t = 0; t < steps; ++t) {
    double metric = std::numeric_limits<double>::quiet_NaN();
    if (schedule->next_step_takes_metric()) {
      if (t >= static_cast<int64_t>(metrics.size())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "metrics: step ", t + 1, " is decided by the metric of step ", t,
            ", but only ", metrics.size(), " metrics were given"));
      }
      metric = metrics[t];
    }
    if (!schedule->Step(metric)) {
      return absl::OutOfRangeError(absl::StrCat("steps: the schedule ends at step ",
                                                schedule->last_step(), ", got ", steps, ": ",
                                                schedule->end_reason()));
    }
    record();
  }
  return result;
}

}  // namespace lrsched
