// The jobs of one server: a sharded map from job id to Job, so that the hot
// path (Step, ReportMetric) takes only its shard's reader lock and the job's
// own lock, never a global one.
//
// Thread-safe.
#ifndef LRSCHED_SERVICE_SERVER_JOB_REGISTRY_H_
#define LRSCHED_SERVICE_SERVER_JOB_REGISTRY_H_

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/common/memory_budget.h"
#include "service/common/mutex.h"
#include "lrsched/v1/scheduler_service.pb.h"
#include "service/job/job.h"

namespace lrsched {

class JobRegistry {
 public:
  // Jobs keep their events in `store` (null: nowhere). A job closed by a
  // failed write is rebuilt from its log (see Revive). Each job is charged
  // to `budget` (null: none) for its worst_case_bytes while it exists.
  JobRegistry(size_t max_jobs, const JobOptions& job_options, EventStore* store,
              MemoryBudget* budget = nullptr);

  // Rebuilds every job from the store's logs. A job whose log does not
  // replay is quarantined (see Damage), not fatal: the others serve. The
  // store's own errors as they come.
  absl::Status Recover();

  // Creates the job of a (validated) request, or finds the existing job when
  // it was created by the same request; `done` gets it once its creation is
  // durable. ALREADY_EXISTS: a job with this id and another request;
  // RESOURCE_EXHAUSTED: max_jobs reached, or the job does not fit in the
  // memory budget; INVALID_ARGUMENT: the math rejects the spec or base rates.
  using CreateDone = absl::AnyInvocable<void(absl::StatusOr<std::shared_ptr<Job>>) &&>;
  void Create(const v1::CreateJobRequest& request, CreateDone done);

  // NOT_FOUND: no such job. DATA_LOSS with the reason: the job is damaged.
  absl::StatusOr<std::shared_ptr<Job>> Find(absl::string_view job_id) const;

  // Why a job is damaged (its log could not be rebuilt at start, e.g. a
  // replay that decides differently), or nullopt. A damaged job keeps its
  // log untouched until DeleteJob removes it: an operator's decision.
  std::optional<std::string> Damage(absl::string_view job_id) const;
  size_t damaged() const;

  // Removes the job (damaged or not), marks it deleted and removes its log;
  // `done` runs once that is durable. NOT_FOUND: no such job.
  void Delete(absl::string_view job_id, Job::Done done);

  // A job as listed: a job, or the id of a damaged one and why.
  struct Listed {
    std::string id;
    std::shared_ptr<Job> job;  // null when damaged
    std::string damage;
  };
  // Up to `limit` jobs with ids after `after` that start with `prefix`, in
  // id order; `more` tells whether such jobs follow.
  std::vector<Listed> List(absl::string_view after, size_t limit, bool* more,
                           absl::string_view prefix = "") const;

  // Closes every job (server shutdown; see Job::Close) and the registry
  // itself: from now on creating or deleting a job fails with `status` too,
  // so that no call can wait on a job that the shutdown did not close, and
  // no job is rebuilt. Returns how many jobs it closed. Call it once.
  size_t CloseAll(const absl::Status& status);

  size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable Mutex mu;
    absl::flat_hash_map<std::string, std::shared_ptr<Job>> jobs ABSL_GUARDED_BY(mu);
  };
  Shard& ShardOf(absl::string_view job_id) const;
  // The job of `request`, new (`is_new` set) or existing; OK only if it
  // matches the request.
  absl::Status CreateOrFind(const v1::CreateJobRequest& request, std::shared_ptr<Job>* found,
                            bool* is_new);
  // The status of CloseAll once it has begun, else OK. Callers hold a shard's
  // lock: CloseAll visits every shard after it sets the status, so a job
  // added under a shard's lock is either seen by it or refused.
  absl::Status closed() const;

  // Rebuilds a job closed by a failed write from what its log holds, once
  // the store has applied what was queued before: the state every answer so
  // far was given from (nothing leaves before it is durable). The job then
  // serves again, and fails again if writes still fail. A job whose log
  // holds nothing (its creation never became durable) is removed.
  void Revive(const std::string& job_id);

  // Passes the jobs' events on to the server's observer, and revives a job
  // whose write failed.
  class Observer final : public JobObserver {
   public:
    Observer(JobRegistry* registry, JobObserver* next) : registry_(registry), next_(next) {}
    void OnEvent(const v1::JobEvent& event) override {
      if (next_ != nullptr) next_->OnEvent(event);
    }
    void OnClosed(const std::string& job_id, const absl::Status& status) override {
      if (next_ != nullptr) next_->OnClosed(job_id, status);
    }
    void OnWriteFailed(const std::string& job_id) override { registry_->Revive(job_id); }

   private:
    JobRegistry* const registry_;
    JobObserver* const next_;
  };

  const size_t max_jobs_;
  Observer observer_;
  const JobOptions job_options_;
  EventStore* const store_;
  MemoryBudget* const budget_;
  mutable std::array<Shard, kShards> shards_;
  std::atomic<size_t> size_{0};
  // Damaged jobs, by id: rare, so one lock, taken only where a job is not
  // found among the healthy ones.
  mutable Mutex damaged_mu_;
  absl::flat_hash_map<std::string, std::string> damaged_ ABSL_GUARDED_BY(damaged_mu_);
  std::atomic<size_t> damaged_size_{0};
  // Orders revivals against CloseAll: none is queued after it.
  Mutex revive_mu_;
  bool closing_ ABSL_GUARDED_BY(revive_mu_) = false;
  // Set once by CloseAll: closed_status_ first, then closed_.
  absl::Status closed_status_;
  std::atomic<bool> closed_{false};
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_JOB_REGISTRY_H_
