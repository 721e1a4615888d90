// The reactor of a Step call. A decided step is answered at once (after the
// handed-out step covering it is durable: meanwhile it is one of the
// WaitingCalls); an undecided one parks on the job without holding a thread
// and finishes when the step is decided, the job goes away or is closed, or
// the call is cancelled (its deadline included).
#ifndef LRSCHED_SERVICE_SERVER_STEP_REACTOR_H_
#define LRSCHED_SERVICE_SERVER_STEP_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "lrsched/v1/scheduler_service.pb.h"
#include "service/job/job.h"
#include "service/server/waiting_calls.h"

namespace lrsched {

class StepReactor final : public grpc::ServerUnaryReactor {
 public:
  // Asks the job at once; deletes itself when done. `waiting` must outlive
  // the call.
  StepReactor(std::shared_ptr<Job> job, const v1::StepRequest* request,
              v1::StepResponse* response, WaitingCalls& waiting);

  void OnCancel() override;
  void OnDone() override { delete this; }

 private:
  // Asks the job: it answers, or parks a callback that asks again. Touches
  // nothing of this reactor after the job may have finished it.
  void Try();
  void FinishOnce(const absl::Status& status);

  const std::shared_ptr<Job> job_;
  WaitingCalls& waiting_calls_;
  const v1::StepRequest* const request_;
  v1::StepResponse* const response_;
  // The parked callback, stored by the job before it can run.
  std::atomic<StepWaiters::Id> waiter_{0};
  std::atomic<bool> finished_{false};
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_STEP_REACTOR_H_
