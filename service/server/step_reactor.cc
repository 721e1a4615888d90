#include "service/server/step_reactor.h"

#include <utility>

#include "service/server/status_conversion.h"

namespace lrsched {

StepReactor::StepReactor(std::shared_ptr<Job> job, const v1::StepRequest* request,
                         v1::StepResponse* response)
    : job_(std::move(job)), request_(request), response_(response) {
  Try();
}

void StepReactor::Try() {
  // The reactor (and its reference to the job) may be gone once the job
  // finishes it, even before Step() returns.
  const std::shared_ptr<Job> job = job_;
  response_->Clear();
  job->Step(
      *request_, response_, [this](absl::Status status) { FinishOnce(status); },
      [this](absl::Status status) {
        if (status.ok()) {
          Try();
        } else {
          FinishOnce(status);
        }
      },
      &waiter_);
}

void StepReactor::OnCancel() {
  // Only the side that takes the parked callback back may finish: otherwise
  // the callback is running and will.
  const StepWaiters::Id waiter = waiter_.load();
  if (waiter != 0 && job_->CancelWaiter(waiter)) {
    FinishOnce(absl::CancelledError("the call was cancelled or its deadline passed"));
  }
}

void StepReactor::FinishOnce(const absl::Status& status) {
  if (finished_.exchange(true)) return;
  Finish(ToGrpcStatus(status));
}

}  // namespace lrsched
