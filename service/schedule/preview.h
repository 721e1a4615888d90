// Runs a schedule over a number of steps and given metrics, without a job:
// what PreviewSchedule answers and what the PyTorch parity tests compare.
#ifndef LRSCHED_SERVICE_SCHEDULE_PREVIEW_H_
#define LRSCHED_SERVICE_SCHEDULE_PREVIEW_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "lrsched/v1/scheduler_spec.pb.h"

namespace lrsched {

// Most steps a preview computes.
inline constexpr int64_t kMaxPreviewSteps = 10'000'000;

struct PreviewResult {
  size_t num_groups = 0;
  // Step-major: lrs[t * num_groups + g] is lr(t) of group g, t in 0..steps.
  std::vector<double> lrs;
  // Same layout; empty unless the schedule cycles momentum.
  std::vector<double> momentums;
};

// The values of steps 0..steps. metrics[t] is the metric of step t, which
// decides step t + 1 where the schedule takes one.
//
// INVALID_ARGUMENT: a bad spec or base_lrs (see Schedule::Create), steps
// outside [0, kMaxPreviewSteps], metrics for a schedule that takes none, more
// metrics than steps, or a step that needs a metric beyond the last given.
// OUT_OF_RANGE: steps beyond the schedule's last step, the step before one
// whose values would not be finite included (Schedule::Step).
// RESOURCE_EXHAUSTED: the answer (as a PreviewScheduleResponse) would take
// more than `max_answer_bytes`; refused before anything is computed.
absl::StatusOr<PreviewResult> Preview(
    const v1::SchedulerSpec& spec, absl::Span<const double> base_lrs, int64_t steps,
    absl::Span<const double> metrics,
    int64_t max_answer_bytes = std::numeric_limits<int64_t>::max());

// About how many bytes one step takes in a PreviewScheduleResponse.
int64_t PreviewBytesPerStep(size_t groups, bool momentums);

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_PREVIEW_H_
