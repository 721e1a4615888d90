#include "service/server/parked_step.h"

#include <utility>

#include "service/server/status_conversion.h"

namespace lrsched {

ParkedStep::ParkedStep(std::shared_ptr<Job> job, const v1::StepRequest* request,
                       v1::StepResponse* response)
    : job_(std::move(job)), request_(request), response_(response) {
  Try();
}

void ParkedStep::Try() {
  absl::Status finish_with;
  {
    // Held across parking so that a decision arriving at once waits for
    // waiter_ to be stored before it asks again.
    MutexLock lock(&mu_);
    response_->Clear();
    const Job::StepResult result = job_->Step(*request_, response_, [this](absl::Status status) {
      if (status.ok()) {
        Try();
      } else {
        FinishOnce(status);
      }
    });
    if (result.outcome == Job::StepOutcome::kParked) {
      waiter_ = result.waiter;
      return;
    }
    finish_with = result.status;
  }
  FinishOnce(finish_with);
}

void ParkedStep::OnCancel() {
  StepWaiters::Id waiter;
  {
    MutexLock lock(&mu_);
    waiter = waiter_;
  }
  // Only the side that takes the parked callback back may finish: otherwise
  // the callback is running and will.
  if (waiter != 0 && job_->CancelWaiter(waiter)) {
    FinishOnce(absl::CancelledError("the call was cancelled or its deadline passed"));
  }
}

void ParkedStep::FinishOnce(const absl::Status& status) {
  if (finished_.exchange(true)) return;
  Finish(ToGrpcStatus(status));
}

}  // namespace lrsched
