// The reactor of a Step call whose step is not decided yet: it parks on the
// job without holding a thread and finishes when the step is decided, the job
// goes away, or the call is cancelled (its deadline included).
#ifndef LRSCHED_SERVICE_SERVER_PARKED_STEP_H_
#define LRSCHED_SERVICE_SERVER_PARKED_STEP_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "service/common/mutex.h"
#include "lrsched/v1/scheduler_service.pb.h"
#include "service/job/job.h"

namespace lrsched {

class ParkedStep final : public grpc::ServerUnaryReactor {
 public:
  // Parks at once; deletes itself when done.
  ParkedStep(std::shared_ptr<Job> job, const v1::StepRequest* request,
             v1::StepResponse* response);

  void OnCancel() override;
  void OnDone() override { delete this; }

 private:
  // Asks the job; parks again or finishes.
  void Try();
  void FinishOnce(const absl::Status& status);

  const std::shared_ptr<Job> job_;
  const v1::StepRequest* const request_;
  v1::StepResponse* const response_;
  Mutex mu_;
  StepWaiters::Id waiter_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> finished_{false};
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_PARKED_STEP_H_
