#include "service/server/step_reactor.h"

#include <utility>

#include "proto/status_conversion.h"

namespace lrsched {

StepReactor::StepReactor(std::shared_ptr<Job> job, const v1::StepRequest* request,
                         v1::StepResponse* response, WaitingCalls& waiting)
    : job_(std::move(job)), waiting_calls_(waiting), request_(request), response_(response) {
  Try();
}

void StepReactor::Try() {
  // The reactor (and its references) may be gone once the job finishes it,
  // even before Step() returns.
  const std::shared_ptr<Job> job = job_;
  WaitingCalls& waiting = waiting_calls_;
  response_->Clear();
  auto call = waiting.Begin([this](const absl::Status& status) { FinishOnce(status); },
                            WaitingCalls::OnDrain::kRetry);
  const Job::StepOutcome outcome = job->Step(
      *request_, response_,
      [call](absl::Status status) { call->Finish(status); },
      [this](absl::Status status) {
        if (status.ok()) {
          Try();
        } else {
          // Only Job::Close ends a parked Step with an error.
          waiting_calls_.CountParkedStepEnded();
          FinishOnce(status);
        }
      },
      &waiter_);
  if (outcome == Job::StepOutcome::kAnswered) waiting.Wait(std::move(call));
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
