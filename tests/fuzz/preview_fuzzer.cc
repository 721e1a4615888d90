// Fuzz target: a PreviewScheduleRequest as it arrives on the wire (a spec,
// base rates, steps and metrics) through Preview(), the math behind
// PreviewSchedule and behind every job's schedule.
//
// Checks, besides the sanitizers' (no crash, no undefined behaviour): Preview
// accepts, or refuses as preview.h documents: INVALID_ARGUMENT naming a field
// of the request (the spec's by their path under "spec"), or OUT_OF_RANGE for
// steps past the schedule's end. An accepted preview has one learning rate
// per step and group, and momentums likewise or none.
//
// Every value of an accepted preview is finite: a schedule that would
// overflow ends at the step before (OUT_OF_RANGE).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lrsched/v1/scheduler_service.pb.h"
#include "service/schedule/preview.h"
#include "tests/fuzz/fuzz_support.h"

namespace lrsched::fuzz {
namespace {

// Values (steps times groups) one input may compute, so that each run takes
// milliseconds: larger previews repeat the same arithmetic.
constexpr int64_t kMaxValues = 100'000;

void CheckPreview(v1::PreviewScheduleRequest& request) {
  const int64_t groups = std::max(request.base_lrs_size(), 1);
  // Within Preview's own limits only: steps it refuses cost nothing.
  if (request.steps() > kMaxValues / groups && request.steps() <= kMaxPreviewSteps) {
    request.set_steps(kMaxValues / groups);
  }
  const auto preview =
      Preview(request.spec(), request.base_lrs(), request.steps(), request.metrics());
  if (!preview.ok()) {
    const absl::Status& status = preview.status();
    const bool documented =
        status.code() == absl::StatusCode::kOutOfRange
            ? absl::StartsWith(status.message(), "steps: ")
            : NamesField(status, *v1::PreviewScheduleRequest::descriptor());
    if (!documented) Fail("a refusal that names no field", Describe(request, status));
    return;
  }
  const size_t values = static_cast<size_t>(request.steps() + 1) * preview->num_groups;
  if (preview->num_groups != static_cast<size_t>(request.base_lrs_size()) ||
      preview->lrs.size() != values ||
      (!preview->momentums.empty() && preview->momentums.size() != values)) {
    Fail(absl::StrCat("an answer of ", preview->lrs.size(), " learning rates and ",
                      preview->momentums.size(), " momentums for ", preview->num_groups,
                      " groups"),
         Describe(request, absl::OkStatus()));
  }
  for (size_t i = 0; i < values; ++i) {
    const bool finite = std::isfinite(preview->lrs[i]) &&
                        (preview->momentums.empty() || std::isfinite(preview->momentums[i]));
    if (!finite) {
      Fail(absl::StrCat("a value that is not finite at step ", i / preview->num_groups,
                        ", group ", i % preview->num_groups, ": lr ", preview->lrs[i],
                        preview->momentums.empty()
                            ? ""
                            : absl::StrCat(", momentum ", preview->momentums[i])),
           Describe(request, absl::OkStatus()));
    }
  }
}

}  // namespace
}  // namespace lrsched::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  lrsched::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lrsched::v1::PreviewScheduleRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return -1;
  lrsched::fuzz::CheckPreview(request);
  return 0;
}
