#include "service/server/scheduler_service.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/arena.h"
#include "proto/status_conversion.h"
#include "service/schedule/preview.h"
#include "service/server/job_watcher.h"
#include "service/server/step_reactor.h"
#include "service/server/request_validation.h"

namespace lrsched {
namespace {

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context,
                                 const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

using OnDrain = WaitingCalls::OnDrain;

// The call of `reactor` as one of `waiting`, before it asks its job.
std::shared_ptr<WaitingCalls::Call> Begin(WaitingCalls& waiting,
                                          grpc::ServerUnaryReactor* reactor, OnDrain on_drain) {
  return waiting.Begin(
      [reactor](const absl::Status& status) { reactor->Finish(ToGrpcStatus(status)); }, on_drain);
}

// The job's answer to `call`: finishes it with its status, unless the drain
// ended it first.
Job::Done FinishWith(std::shared_ptr<WaitingCalls::Call> call) {
  return [call = std::move(call)](absl::Status status) { call->Finish(status); };
}

// Holds a charge to the memory budget until the call is done, its answer
// sent.
class ChargedReactor final : public grpc::ServerUnaryReactor {
 public:
  ChargedReactor(MemoryBudget& budget, int64_t bytes) : budget_(budget), bytes_(bytes) {}
  void OnDone() override {
    budget_.Release(bytes_);
    delete this;
  }

 private:
  MemoryBudget& budget_;
  const int64_t bytes_;
};

class ArenaHolder final
    : public grpc::MessageHolder<v1::PreviewScheduleRequest, v1::PreviewScheduleResponse> {
 public:
  ArenaHolder() : arena_(Options()) {
    set_request(google::protobuf::Arena::CreateMessage<v1::PreviewScheduleRequest>(&arena_));
    set_response(google::protobuf::Arena::CreateMessage<v1::PreviewScheduleResponse>(&arena_));
  }
  void Release() override { delete this; }

 private:
  static google::protobuf::ArenaOptions Options() {
    google::protobuf::ArenaOptions options;
    // Blocks this large are mapped by the allocator, and unmapped when freed.
    options.max_block_size = size_t{8} << 20;
    return options;
  }

  google::protobuf::Arena arena_;
};

}  // namespace

grpc::MessageHolder<v1::PreviewScheduleRequest, v1::PreviewScheduleResponse>*
SchedulerServiceImpl::ArenaMessages::AllocateMessages() {
  return new ArenaHolder();
}

absl::StatusOr<const Caller*> SchedulerServiceImpl::Allowed(
    grpc::CallbackServerContext* context, Rpc rpc, absl::string_view job_id) const {
  static const Caller* const anyone = new Caller{"anyone", Role::kOperator, ""};
  if (access_ == nullptr) return anyone;
  return access_->Check(*context, rpc, job_id);
}

std::string SchedulerServiceImpl::CallerKey(const grpc::CallbackServerContext& context,
                                           const Caller& caller) const {
  if (access_ != nullptr) return caller.name;
  // ipv4:HOST:PORT or ipv6:[HOST]:PORT: one caller per host, whatever its
  // connections.
  std::string peer = context.peer();
  const size_t port = peer.rfind(':');
  if (port != std::string::npos && port > peer.find(':')) peer.resize(port);
  return peer;
}

void SchedulerServiceImpl::Describe(const Job& job, v1::JobView view, v1::Job* out,
                                   int64_t history_before_step) const {
  job.ToProto(view, out, history_before_step);
  out->set_served_by(served_by_);
}

grpc::ServerUnaryReactor* SchedulerServiceImpl::CreateJob(grpc::CallbackServerContext* context,
                                                          const v1::CreateJobRequest* request,
                                                          v1::Job* response) {
  auto allowed = Allowed(context, Rpc::kCreateJob, request->job_id());
  if (!allowed.ok()) return Finish(context, allowed.status());
  if (absl::Status status = Validate(*request); !status.ok()) return Finish(context, status);
  // A new job under a prefix is counted before it exists (the creations in
  // flight with the jobs held), so that racing calls cannot pass the limit.
  std::string reserved;
  const Caller& caller = **allowed;
  const std::string& prefix = caller.job_prefix;
  if (max_jobs_per_caller_ > 0 && !prefix.empty() && !registry_.Find(request->job_id()).ok()) {
    MutexLock lock(&creating_mu_);
    bool more = false;
    const int64_t held =
        static_cast<int64_t>(
            registry_.List("", static_cast<size_t>(max_jobs_per_caller_), &more, prefix).size()) +
        creating_[prefix];
    if (held >= max_jobs_per_caller_) {
      return Finish(context,
                    absl::ResourceExhaustedError(absl::StrCat(
                        caller.name, " holds ", held, " jobs under '", prefix,
                        "' (or is creating them), its limit (--max_jobs_per_caller); delete one "
                        "first")));
    }
    ++creating_[prefix];
    reserved = prefix;
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = Begin(waiting_calls_, reactor, OnDrain::kRetry);
  registry_.Create(*request, [this, reactor, response, call, reserved = std::move(reserved)](
                                 absl::StatusOr<std::shared_ptr<Job>> job) {
    if (!reserved.empty()) {
      MutexLock lock(&creating_mu_);
      if (--creating_[reserved] == 0) creating_.erase(reserved);
    }
    if (!call->Claim()) return;
    if (job.ok()) Describe(**job, v1::JOB_VIEW_FULL, response);
    reactor->Finish(ToGrpcStatus(job.status()));
  });
  waiting_calls_.Wait(std::move(call));
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerServiceImpl::GetJob(grpc::CallbackServerContext* context,
                                                       const v1::GetJobRequest* request,
                                                       v1::Job* response) {
  if (auto allowed = Allowed(context, Rpc::kGetJob, request->job_id()); !allowed.ok()) {
    return Finish(context, allowed.status());
  }
  if (absl::Status status = Validate(*request); !status.ok()) return Finish(context, status);
  auto job = registry_.Find(request->job_id());
  if (!job.ok()) {
    if (auto damage = registry_.Damage(request->job_id())) {
      response->set_job_id(request->job_id());
      response->set_damaged(*damage);
      response->set_served_by(served_by_);
      return Finish(context, absl::OkStatus());
    }
    return Finish(context, job.status());
  }
  Describe(**job,
           request->view() == v1::JOB_VIEW_BASIC ? v1::JOB_VIEW_BASIC : v1::JOB_VIEW_FULL,
           response, request->history_before_step());
  return Finish(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* SchedulerServiceImpl::ListJobs(grpc::CallbackServerContext* context,
                                                         const v1::ListJobsRequest* request,
                                                         v1::ListJobsResponse* response) {
  auto caller = Allowed(context, Rpc::kListJobs, "");
  if (!caller.ok()) return Finish(context, caller.status());
  if (absl::Status status = Validate(*request); !status.ok()) return Finish(context, status);
  const size_t limit = request->page_size() == 0 ? RequestLimits::kDefaultPageSize
                                                 : static_cast<size_t>(request->page_size());
  bool more = false;
  auto jobs = registry_.List(request->page_token(), limit, &more, (*caller)->job_prefix);
  const v1::JobView view =
      request->view() == v1::JOB_VIEW_FULL ? v1::JOB_VIEW_FULL : v1::JOB_VIEW_BASIC;
  // A page also ends before it outgrows a default client's 4 MB receive
  // limit: wide jobs (1,024 groups) take tens of KB each.
  constexpr size_t kMaxPageBytes = size_t{2} << 20;
  size_t bytes = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const auto& listed = jobs[i];
    v1::Job* job = response->add_jobs();
    if (listed.job != nullptr) {
      Describe(*listed.job, view, job);
    } else {
      job->set_job_id(listed.id);
      job->set_damaged(listed.damage);
      job->set_served_by(served_by_);
    }
    bytes += job->ByteSizeLong();
    if (bytes > kMaxPageBytes && i > 0) {
      response->mutable_jobs()->RemoveLast();
      more = true;
      response->set_next_page_token(jobs[i - 1].id);
      return Finish(context, absl::OkStatus());
    }
  }
  if (more) response->set_next_page_token(jobs.back().id);
  return Finish(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* SchedulerServiceImpl::DeleteJob(grpc::CallbackServerContext* context,
                                                          const v1::DeleteJobRequest* request,
                                                          v1::DeleteJobResponse* /*response*/) {
  if (auto allowed = Allowed(context, Rpc::kDeleteJob, request->job_id()); !allowed.ok()) {
    return Finish(context, allowed.status());
  }
  if (absl::Status status = Validate(*request); !status.ok()) return Finish(context, status);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = Begin(waiting_calls_, reactor, OnDrain::kRetry);
  registry_.Delete(request->job_id(), FinishWith(call));
  waiting_calls_.Wait(std::move(call));
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerServiceImpl::Step(grpc::CallbackServerContext* context,
                                                     const v1::StepRequest* request,
                                                     v1::StepResponse* response) {
  if (auto allowed = Allowed(context, Rpc::kStep, request->job_id()); !allowed.ok()) {
    return Finish(context, allowed.status());
  }
  if (absl::Status status = Validate(*request); !status.ok()) return Finish(context, status);
  auto job = registry_.Find(request->job_id());
  if (!job.ok()) return Finish(context, job.status());
  return new StepReactor(*std::move(job), request, response, waiting_calls_);
}

grpc::ServerUnaryReactor* SchedulerServiceImpl::ReportMetric(
    grpc::CallbackServerContext* context, const v1::ReportMetricRequest* request,
    v1::ReportMetricResponse* response) {
  if (auto allowed = Allowed(context, Rpc::kReportMetric, request->job_id()); !allowed.ok()) {
    return Finish(context, allowed.status());
  }
  if (absl::Status status = Validate(*request); !status.ok()) return Finish(context, status);
  auto job = registry_.Find(request->job_id());
  if (!job.ok()) return Finish(context, job.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = Begin(waiting_calls_, reactor, OnDrain::kRetry);
  (*job)->ReportMetric(*request, response, FinishWith(call));
  waiting_calls_.Wait(std::move(call));
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerServiceImpl::SetLearningRate(
    grpc::CallbackServerContext* context, const v1::SetLearningRateRequest* request,
    v1::SetLearningRateResponse* response) {
  if (auto allowed = Allowed(context, Rpc::kSetLearningRate, request->job_id()); !allowed.ok()) {
    return Finish(context, allowed.status());
  }
  if (absl::Status status = Validate(*request); !status.ok()) return Finish(context, status);
  auto job = registry_.Find(request->job_id());
  if (!job.ok()) return Finish(context, job.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // An override is not idempotent: a drain must not invite a second one.
  auto call = Begin(waiting_calls_, reactor, OnDrain::kUnknownOutcome);
  (*job)->SetLearningRate(*request, response->mutable_override(), FinishWith(call));
  waiting_calls_.Wait(std::move(call));
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerServiceImpl::SetWorldSize(
    grpc::CallbackServerContext* context, const v1::SetWorldSizeRequest* request,
    v1::Job* response) {
  if (auto allowed = Allowed(context, Rpc::kSetWorldSize, request->job_id()); !allowed.ok()) {
    return Finish(context, allowed.status());
  }
  if (absl::Status status = Validate(*request); !status.ok()) return Finish(context, status);
  auto job = registry_.Find(request->job_id());
  if (!job.ok()) return Finish(context, job.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = Begin(waiting_calls_, reactor, OnDrain::kRetry);
  (*job)->SetWorldSize(request->world_size(),
                       [this, reactor, response, call, job = *job](absl::Status status) {
                         if (!call->Claim()) return;
                         if (status.ok()) Describe(*job, v1::JOB_VIEW_BASIC, response);
                         reactor->Finish(ToGrpcStatus(status));
                       });
  waiting_calls_.Wait(std::move(call));
  return reactor;
}

grpc::ServerWriteReactor<v1::JobEvent>* SchedulerServiceImpl::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  auto allowed = Allowed(context, Rpc::kWatchJob, request->job_id());
  absl::Status status = allowed.status();
  if (status.ok()) status = Validate(*request);
  absl::StatusOr<std::shared_ptr<Job>> job =
      status.ok() ? registry_.Find(request->job_id()) : status;
  std::string caller;
  if (job.ok()) {
    caller = CallerKey(*context, **allowed);
    if (!watch_streams_.TryAcquire(caller)) {
      job = absl::ResourceExhaustedError(
          absl::StrCat(caller, " has ", watch_streams_.limit(),
                       " WatchJob streams open, its limit (--max_watch_streams_per_caller); "
                       "close one first"));
    }
  }
  if (!job.ok()) {
    // A reactor that finishes at once with the error.
    class Failed final : public grpc::ServerWriteReactor<v1::JobEvent> {
     public:
      explicit Failed(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
      void OnDone() override { delete this; }
    };
    return new Failed(job.status());
  }
  return new JobWatcher(*std::move(job), request->from_sequence(),
                        [this, caller] { watch_streams_.Release(caller); });
}

grpc::ServerUnaryReactor* SchedulerServiceImpl::PreviewSchedule(
    grpc::CallbackServerContext* context, const v1::PreviewScheduleRequest* request,
    v1::PreviewScheduleResponse* response) {
  if (auto allowed = Allowed(context, Rpc::kPreviewSchedule, ""); !allowed.ok()) {
    return Finish(context, allowed.status());
  }
  if (absl::Status status = Validate(*request); !status.ok()) return Finish(context, status);
  // The computed values, the answer's messages and their serialized copy,
  // from the size of the answer (bounded by max_answer_bytes_ in Preview).
  const int64_t groups = request->base_lrs_size();
  const int64_t answered_steps = std::min<int64_t>(
      request->steps() + 1, max_answer_bytes_ / PreviewBytesPerStep(groups, false) + 1);
  const int64_t cost =
      answered_steps * (PreviewBytesPerStep(groups, /*momentums=*/true) * 3 + 96);
  if (!budget_.TryCharge(cost)) {
    constexpr double kMiB = 1 << 20;
    return Finish(context, absl::ResourceExhaustedError(absl::StrFormat(
                               "memory budget: this preview may take up to %.1f MiB, and %.1f of "
                               "the server's %.1f MiB (--memory_budget) are taken; preview fewer "
                               "steps, or later",
                               cost / kMiB, budget_.charged() / kMiB, budget_.limit() / kMiB)));
  }
  auto* reactor = new ChargedReactor(budget_, cost);
  auto preview = Preview(request->spec(), request->base_lrs(), request->steps(),
                         request->metrics(), max_answer_bytes_);
  if (!preview.ok()) {
    reactor->Finish(ToGrpcStatus(preview.status()));
    return reactor;
  }
  response->mutable_values()->Reserve(static_cast<int>(request->steps() + 1));
  for (int64_t t = 0; t <= request->steps(); ++t) {
    v1::StepValues* values = response->add_values();
    values->set_step(t);
    values->mutable_lrs()->Add(preview->lrs.begin() + t * groups,
                               preview->lrs.begin() + (t + 1) * groups);
    if (!preview->momentums.empty()) {
      values->mutable_momentums()->Add(preview->momentums.begin() + t * groups,
                                       preview->momentums.begin() + (t + 1) * groups);
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace lrsched
