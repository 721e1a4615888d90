#include "service/server/request_validation.h"

#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/schedule/preview.h"
#include "service/schedule/scheduler.h"

namespace lrsched {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

absl::Status CheckRange(absl::string_view field, int64_t value, int64_t low, int64_t high) {
  if (value >= low && value <= high) return absl::OkStatus();
  return Invalid(field, absl::StrCat("must be in [", low, ", ", high, "], got ", value));
}

absl::Status CheckNonNegativeFinite(absl::string_view field, double value) {
  if (std::isfinite(value) && value >= 0) return absl::OkStatus();
  return Invalid(field, absl::StrCat("must be finite and at least 0, got ", value));
}

template <typename Enum>
absl::Status CheckEnum(absl::string_view field, int value, bool (*is_valid)(int)) {
  if (is_valid(value)) return absl::OkStatus();
  return Invalid(field, absl::StrCat("unknown value ", value));
}

absl::Status CheckView(v1::JobView view) {
  return CheckEnum<v1::JobView>("view", view, v1::JobView_IsValid);
}

}  // namespace

absl::Status ValidateJobId(absl::string_view job_id) {
  if (job_id.empty()) return Invalid("job_id", "is required");
  if (job_id.size() > RequestLimits::kMaxJobIdLength) {
    return Invalid("job_id", absl::StrCat("must be at most ", RequestLimits::kMaxJobIdLength,
                                          " characters, got ", job_id.size()));
  }
  if (job_id.front() == '.' || job_id.front() == '-') {
    return Invalid("job_id", "must not start with '.' or '-'");
  }
  for (char c : job_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Invalid("job_id", absl::StrCat("may hold only A-Z a-z 0-9 . _ -, got '",
                                            absl::CEscape(absl::string_view(&c, 1)), "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status Validate(const v1::CreateJobRequest& request) {
  LRSCHED_RETURN_IF_ERROR(ValidateJobId(request.job_id()));
  if (!request.has_spec()) return Invalid("spec", "is required");
  LRSCHED_RETURN_IF_ERROR(
      CheckRange("world_size", request.world_size(), 0, RequestLimits::kMaxWorldSize));
  LRSCHED_RETURN_IF_ERROR(
      CheckRange("max_look_ahead", request.max_look_ahead(), 0, RequestLimits::kMaxLookAhead));
  return CheckEnum<v1::Aggregation>("aggregation", request.aggregation(),
                                    v1::Aggregation_IsValid);
}

absl::Status Validate(const v1::GetJobRequest& request) {
  LRSCHED_RETURN_IF_ERROR(ValidateJobId(request.job_id()));
  LRSCHED_RETURN_IF_ERROR(CheckRange("history_before_step", request.history_before_step(), 0,
                                     kMaxStep));
  return CheckView(request.view());
}

absl::Status Validate(const v1::ListJobsRequest& request) {
  LRSCHED_RETURN_IF_ERROR(
      CheckRange("page_size", request.page_size(), 0, RequestLimits::kMaxPageSize));
  if (!request.page_token().empty() && !ValidateJobId(request.page_token()).ok()) {
    return Invalid("page_token", "is not a token this server gave");
  }
  return CheckView(request.view());
}

absl::Status Validate(const v1::DeleteJobRequest& request) {
  return ValidateJobId(request.job_id());
}

absl::Status Validate(const v1::StepRequest& request) {
  LRSCHED_RETURN_IF_ERROR(ValidateJobId(request.job_id()));
  LRSCHED_RETURN_IF_ERROR(
      CheckRange("rank", request.rank(), 0, RequestLimits::kMaxWorldSize - 1));
  LRSCHED_RETURN_IF_ERROR(CheckRange("step", request.step(), 0, kMaxStep));
  return CheckRange("look_ahead", request.look_ahead(), 0, RequestLimits::kMaxLookAhead);
}

absl::Status Validate(const v1::ReportMetricRequest& request) {
  LRSCHED_RETURN_IF_ERROR(ValidateJobId(request.job_id()));
  LRSCHED_RETURN_IF_ERROR(
      CheckRange("rank", request.rank(), 0, RequestLimits::kMaxWorldSize - 1));
  LRSCHED_RETURN_IF_ERROR(CheckRange("step", request.step(), 0, kMaxStep));
  return CheckNonNegativeFinite("weight", request.weight());
}

absl::Status Validate(const v1::SetLearningRateRequest& request) {
  LRSCHED_RETURN_IF_ERROR(ValidateJobId(request.job_id()));
  LRSCHED_RETURN_IF_ERROR(CheckRange("step", request.step(), 0, kMaxStep));
  LRSCHED_RETURN_IF_ERROR(
      CheckEnum<v1::OverrideMode>("mode", request.mode(), v1::OverrideMode_IsValid));
  switch (request.change_case()) {
    case v1::SetLearningRateRequest::kLrs:
      if (request.mode() == v1::SCALE_SCHEDULE) {
        return Invalid("lrs", "SCALE_SCHEDULE takes a factor, not learning rates");
      }
      if (request.lrs().values().empty()) return Invalid("lrs.values", "is required");
      for (int g = 0; g < request.lrs().values_size(); ++g) {
        LRSCHED_RETURN_IF_ERROR(CheckNonNegativeFinite(absl::StrCat("lrs.values[", g, "]"),
                                                       request.lrs().values(g)));
      }
      return absl::OkStatus();
    case v1::SetLearningRateRequest::kFactor:
      return CheckNonNegativeFinite("factor", request.factor());
    case v1::SetLearningRateRequest::CHANGE_NOT_SET:
      break;
  }
  return Invalid("change", "set lrs or factor");
}

absl::Status Validate(const v1::SetWorldSizeRequest& request) {
  LRSCHED_RETURN_IF_ERROR(ValidateJobId(request.job_id()));
  return CheckRange("world_size", request.world_size(), 1, RequestLimits::kMaxWorldSize);
}

absl::Status Validate(const v1::WatchJobRequest& request) {
  LRSCHED_RETURN_IF_ERROR(ValidateJobId(request.job_id()));
  return CheckRange("from_sequence", request.from_sequence(), 0, kMaxStep);
}

absl::Status Validate(const v1::PreviewScheduleRequest& request) {
  if (!request.has_spec()) return Invalid("spec", "is required");
  return CheckRange("steps", request.steps(), 0, kMaxPreviewSteps);
}

}  // namespace lrsched
