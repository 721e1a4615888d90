// Fuzz target: one job's state machine (service/job/job.h). The input's first
// bytes pick the job (a spec of every family and composite, parameter
// groups, world size, aggregation, window sizes), the following ones a
// sequence of Step, ReportMetric, SetLearningRate, SetWorldSize and GetJob
// calls and perhaps the job's deletion (tests/testing/job_driver.h, shared
// with the replay property test); then the whole input is read again as the
// calls of a continuation.
//
// Checks, besides the sanitizers', DESIGN.md's invariants 1 and 2 as the
// property test does on seeded histories: the job's recorded events, replayed
// into a fresh job, give the same view, and the same answers and events for
// the continuation driven into both; no answer states a second value for a
// step.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "service/job/job.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/testing/job_driver.h"

namespace lrsched::fuzz {
namespace {

using ::lrsched::testing::ByteChoices;
using ::lrsched::testing::CheckReplayEqualsLive;
using ::lrsched::testing::DriverSpecs;

constexpr int kMaxWorld = 3;
// Calls per input: about as many as the seeds' 300 bytes drive (a call reads
// two to six), which keeps a run to a few milliseconds under the sanitizers.
constexpr int kOperations = 80;
constexpr int kContinuationOperations = 30;

// Parsed once: JSON parsing costs more than many a run.
const v1::SchedulerSpec& Spec(size_t index) {
  static const std::vector<v1::SchedulerSpec> specs = [] {
    std::vector<v1::SchedulerSpec> parsed(DriverSpecs().size());
    for (size_t i = 0; i < parsed.size(); ++i) {
      const auto status =
          google::protobuf::util::JsonStringToMessage(DriverSpecs()[i], &parsed[i]);
      if (!status.ok()) Fail(absl::StrCat("a driver spec does not parse: ", status.ToString()), "");
    }
    return parsed;
  }();
  return specs[index];
}

void CheckJob(absl::Span<const uint8_t> input) {
  ByteChoices history(input);
  v1::JobCreated created;
  *created.mutable_spec() = Spec(history.Pick(0, DriverSpecs().size() - 1));
  const int groups = static_cast<int>(history.Pick(1, 3));
  for (int g = 0; g < groups; ++g) created.add_base_lrs(0.1 / (g + 1));
  created.set_world_size(static_cast<int>(history.Pick(1, kMaxWorld)));
  created.set_aggregation(static_cast<v1::Aggregation>(history.Pick(0, v1::Aggregation_MAX)));
  JobOptions options;
  options.handed_out_chunk = history.Pick(1, 6);
  options.history_window = history.Pick(3, 42);
  options.max_events = 1'000'000;

  ByteChoices continuation(input);
  ByteChoices replayed_continuation(input);
  const absl::Status status =
      CheckReplayEqualsLive(created, options, kMaxWorld, kOperations, history,
                            kContinuationOperations, continuation, replayed_continuation);
  if (!status.ok()) {
    Fail(status.ToString(),
         absl::StrCat("JobCreated {", created.ShortDebugString(), "} handed_out_chunk ",
                      options.handed_out_chunk, " history_window ", options.history_window));
  }
}

}  // namespace
}  // namespace lrsched::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  lrsched::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lrsched::fuzz::CheckJob(absl::Span<const uint8_t>(data, size));
  return 0;
}
