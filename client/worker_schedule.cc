#include "lrsched/worker_schedule.h"

#include <utility>

namespace lrsched {

WorkerSchedule::WorkerSchedule(Client& client, std::string job_id, int rank,
                               int64_t look_ahead, int64_t first_step)
    : client_(client),
      job_id_(std::move(job_id)),
      rank_(rank),
      look_ahead_(look_ahead),
      next_step_(first_step) {}

absl::StatusOr<StepRates> WorkerSchedule::Step() {
  while (!window_.empty() && window_.front().step < next_step_) window_.pop_front();
  if (window_.empty()) {
    ++step_rpcs_;
    auto response = client_.Step(job_id_, rank_, next_step_, look_ahead_);
    if (!response.ok()) return response.status();
    for (const v1::StepValues& values : response->values()) {
      window_.push_back({values.step(),
                         {values.lrs().begin(), values.lrs().end()},
                         {values.momentums().begin(), values.momentums().end()}});
    }
    if (window_.empty() || window_.front().step != next_step_) {
      return absl::InternalError("the server answered a Step without its step");
    }
  }
  StepRates rates = std::move(window_.front());
  window_.pop_front();
  ++next_step_;
  return rates;
}

absl::StatusOr<v1::ReportMetricResponse> WorkerSchedule::ReportMetric(double value,
                                                                      double weight) {
  if (step() < 0) {
    return absl::FailedPreconditionError("ReportMetric before the first Step()");
  }
  v1::ReportMetricRequest request;
  request.set_job_id(job_id_);
  request.set_rank(rank_);
  request.set_step(step());
  request.set_value(value);
  request.set_weight(weight);
  return client_.ReportMetric(request);
}

}  // namespace lrsched
