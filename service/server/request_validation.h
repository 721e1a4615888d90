// The server's checks of every request field, in one place with one table of
// limits. Each returns INVALID_ARGUMENT naming the field and the rule, or OK.
// The spec itself is checked by the math (scheduler_factory.h); the checks
// that depend on a job's state (rank < world_size) by the job.
#ifndef LRSCHED_SERVICE_SERVER_REQUEST_VALIDATION_H_
#define LRSCHED_SERVICE_SERVER_REQUEST_VALIDATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "lrsched/v1/scheduler_service.pb.h"

namespace lrsched {

struct RequestLimits {
  static constexpr size_t kMaxJobIdLength = 128;
  static constexpr int32_t kMaxWorldSize = 65'536;
  static constexpr int64_t kMaxLookAhead = 100'000;
  static constexpr int32_t kDefaultPageSize = 100;
  static constexpr int32_t kMaxPageSize = 1'000;
};

absl::Status ValidateJobId(absl::string_view job_id);
absl::Status Validate(const v1::CreateJobRequest& request);
absl::Status Validate(const v1::GetJobRequest& request);
absl::Status Validate(const v1::ListJobsRequest& request);
absl::Status Validate(const v1::DeleteJobRequest& request);
absl::Status Validate(const v1::StepRequest& request);
absl::Status Validate(const v1::ReportMetricRequest& request);
absl::Status Validate(const v1::SetLearningRateRequest& request);
absl::Status Validate(const v1::SetWorldSizeRequest& request);
absl::Status Validate(const v1::WatchJobRequest& request);
absl::Status Validate(const v1::PreviewScheduleRequest& request);

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_REQUEST_VALIDATION_H_
