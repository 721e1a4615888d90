// Fuzz target: every RPC's request message, parsed from arbitrary bytes and
// validated as the server does before anything else (request_validation.h).
// The first byte picks the message type, the rest are its wire bytes.
//
// Checks, besides the sanitizers': validation accepts, or refuses with
// INVALID_ARGUMENT naming a field of the request and the rule. A CreateJob or
// PreviewSchedule that validation accepts goes on to the math (as the server
// hands it on), whose refusals must name a field of the same request.
#include <cstddef>
#include <cstdint>

#include "lrsched/v1/scheduler_service.pb.h"
#include "service/schedule/schedule.h"
#include "service/server/request_validation.h"
#include "tests/fuzz/fuzz_support.h"

namespace lrsched::fuzz {
namespace {

template <typename Request>
void CheckRefusal(const Request& request, const absl::Status& status) {
  if (!status.ok() && !NamesField(status, *Request::descriptor())) {
    Fail("a refusal that names no field", Describe(request, status));
  }
}

template <typename Request>
int Check(const uint8_t* data, size_t size) {
  Request request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return -1;
  CheckRefusal(request, Validate(request));
  return 0;
}

// What the server hands on to the math once validation accepts: the spec and
// base rates (a preview's steps and metrics too, which preview_fuzzer runs).
template <typename Request>
int CheckWithSpec(const uint8_t* data, size_t size) {
  Request request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return -1;
  const absl::Status status = Validate(request);
  CheckRefusal(request, status);
  if (status.ok()) {
    CheckRefusal(request, Schedule::Create(request.spec(), request.base_lrs()).status());
  }
  return 0;
}

int CheckJobId(const uint8_t* data, size_t size) {
  v1::GetJobRequest request;
  request.set_job_id(reinterpret_cast<const char*>(data), size);
  CheckRefusal(request, ValidateJobId(request.job_id()));
  return 0;
}

}  // namespace
}  // namespace lrsched::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  lrsched::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fuzz = lrsched::fuzz;
  namespace v1 = lrsched::v1;
  if (size == 0) return -1;
  const uint8_t kind = data[0];
  ++data;
  --size;
  switch (kind % 11) {
    case 0: return fuzz::CheckWithSpec<v1::CreateJobRequest>(data, size);
    case 1: return fuzz::Check<v1::GetJobRequest>(data, size);
    case 2: return fuzz::Check<v1::ListJobsRequest>(data, size);
    case 3: return fuzz::Check<v1::DeleteJobRequest>(data, size);
    case 4: return fuzz::Check<v1::StepRequest>(data, size);
    case 5: return fuzz::Check<v1::ReportMetricRequest>(data, size);
    case 6: return fuzz::Check<v1::SetLearningRateRequest>(data, size);
    case 7: return fuzz::Check<v1::SetWorldSizeRequest>(data, size);
    case 8: return fuzz::Check<v1::WatchJobRequest>(data, size);
    case 9: return fuzz::CheckWithSpec<v1::PreviewScheduleRequest>(data, size);
    default: return fuzz::CheckJobId(data, size);
  }
}
