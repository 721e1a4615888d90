// lrsched.v1.SchedulerService on gRPC's callback API: thin handlers that
// validate the request, call the registry or the job, and finish. None of them
// blocks: a Step that must wait parks a reactor on its job (StepReactor), and
// a call whose change must become durable first is one of waiting_calls()
// until it is, so that a draining server can end it.
#ifndef LRSCHED_SERVICE_SERVER_SCHEDULER_SERVICE_H_
#define LRSCHED_SERVICE_SERVER_SCHEDULER_SERVICE_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/message_allocator.h>

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "service/common/memory_budget.h"
#include "service/common/mutex.h"
#include "service/server/access_control.h"
#include "service/server/caller_quota.h"
#include "service/server/job_registry.h"
#include "service/server/waiting_calls.h"

namespace lrsched {

// What one caller may take: a caller is a name of access control's, or the
// peer's address without access control. 0: no limit.
struct CallerLimits {
  // WatchJob streams open at once.
  int64_t max_watch_streams_per_caller = 0;
  // Jobs under the job-id prefix of a caller that has one.
  int64_t max_jobs_per_caller = 0;
};

class SchedulerServiceImpl final : public v1::SchedulerService::CallbackService {
 public:
  // `max_answer_bytes` bounds a PreviewSchedule answer (and so its work);
  // a preview is charged to `budget` while it is built and sent.
  // `served_by` goes into every Job answered (Job.served_by).
  // `access` (may be null: every call allowed) checks each call's caller
  // first.
  SchedulerServiceImpl(JobRegistry& registry, int64_t max_answer_bytes, MemoryBudget& budget,
                       std::string served_by = "", const AccessControl* access = nullptr,
                       CallerLimits limits = {})
      : registry_(registry),
        max_answer_bytes_(max_answer_bytes),
        budget_(budget),
        served_by_(std::move(served_by)),
        access_(access),
        max_jobs_per_caller_(limits.max_jobs_per_caller),
        watch_streams_(limits.max_watch_streams_per_caller) {
    SetMessageAllocatorFor_PreviewSchedule(&preview_messages_);
  }

  WaitingCalls& waiting_calls() { return waiting_calls_; }

  grpc::ServerUnaryReactor* CreateJob(grpc::CallbackServerContext* context,
                                      const v1::CreateJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* context,
                                   const v1::GetJobRequest* request, v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* context,
                                     const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteJob(grpc::CallbackServerContext* context,
                                      const v1::DeleteJobRequest* request,
                                      v1::DeleteJobResponse* response) override;
  grpc::ServerUnaryReactor* Step(grpc::CallbackServerContext* context,
                                 const v1::StepRequest* request,
                                 v1::StepResponse* response) override;
  grpc::ServerUnaryReactor* ReportMetric(grpc::CallbackServerContext* context,
                                         const v1::ReportMetricRequest* request,
                                         v1::ReportMetricResponse* response) override;
  grpc::ServerUnaryReactor* SetLearningRate(grpc::CallbackServerContext* context,
                                            const v1::SetLearningRateRequest* request,
                                            v1::SetLearningRateResponse* response) override;
  grpc::ServerUnaryReactor* SetWorldSize(grpc::CallbackServerContext* context,
                                         const v1::SetWorldSizeRequest* request,
                                         v1::Job* response) override;
  grpc::ServerWriteReactor<v1::JobEvent>* WatchJob(grpc::CallbackServerContext* context,
                                                   const v1::WatchJobRequest* request) override;
  grpc::ServerUnaryReactor* PreviewSchedule(grpc::CallbackServerContext* context,
                                            const v1::PreviewScheduleRequest* request,
                                            v1::PreviewScheduleResponse* response) override;

 private:
  // A preview's answer is millions of small messages: on an arena of the
  // call's own they take a few large blocks, handed back to the system
  // together when the call ends, instead of millions of small chunks that
  // the allocator's per-thread pools would keep.
  class ArenaMessages final
      : public grpc::MessageAllocator<v1::PreviewScheduleRequest, v1::PreviewScheduleResponse> {
   public:
    grpc::MessageHolder<v1::PreviewScheduleRequest, v1::PreviewScheduleResponse>*
    AllocateMessages() override;
  };

  // The caller of `context` as access control knows it (an operator of
  // every job without access control; as AccessControl::Check, valid until
  // the thread checks another call); UNAUTHENTICATED or PERMISSION_DENIED
  // when it may not make `rpc` on `job_id`.
  absl::StatusOr<const Caller*> Allowed(grpc::CallbackServerContext* context, Rpc rpc,
                                        absl::string_view job_id) const;

  // Who the caller of `context` is, for the limits per caller.
  std::string CallerKey(const grpc::CallbackServerContext& context, const Caller& caller) const;

  // Fills `job` from the job as `view` shows it, with served_by.
  void Describe(const Job& job, v1::JobView view, v1::Job* out,
                int64_t history_before_step = 0) const;

  JobRegistry& registry_;
  const int64_t max_answer_bytes_;
  MemoryBudget& budget_;
  const std::string served_by_;
  const AccessControl* const access_;
  const int64_t max_jobs_per_caller_;
  // Creations in flight of new jobs, by the job-id prefix they count for.
  Mutex creating_mu_;
  absl::flat_hash_map<std::string, int64_t> creating_ ABSL_GUARDED_BY(creating_mu_);
  CallerQuota watch_streams_;
  WaitingCalls waiting_calls_;
  ArenaMessages preview_messages_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_SCHEDULER_SERVICE_H_
