#include "service/server/job_registry.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace lrsched {

namespace {

absl::Status DamagedError(absl::string_view job_id, absl::string_view damage) {
  return absl::DataLossError(absl::StrCat(
      "job ", job_id, " is damaged and not served: ", damage,
      ". Its log is kept as it is; DeleteJob removes it"));
}

}  // namespace

JobRegistry::JobRegistry(size_t max_jobs, const JobOptions& job_options, EventStore* store,
                         MemoryBudget* budget)
    : max_jobs_(max_jobs),
      observer_(this, job_options.observer),
      job_options_([&] {
        JobOptions options = job_options;
        options.observer = &observer_;
        return options;
      }()),
      store_(store),
      budget_(budget) {}

JobRegistry::Shard& JobRegistry::ShardOf(absl::string_view job_id) const {
  return shards_[absl::Hash<absl::string_view>()(job_id) % kShards];
}

absl::Status JobRegistry::Recover() {
  if (store_ == nullptr) return absl::OkStatus();
  const auto quarantine = [this](const std::string& job_id, absl::Status problem) {
    observer_.OnClosed(job_id, problem);
    MutexLock lock(&damaged_mu_);
    damaged_.insert_or_assign(job_id, std::string(problem.message()));
    damaged_size_.store(damaged_.size(), std::memory_order_relaxed);
    return absl::OkStatus();
  };
  return store_->LoadAll(
      [&](absl::Span<v1::JobEvent* const> events) -> absl::Status {
        auto job = Job::Replay(events, job_options_, store_);
        if (!job.ok()) return quarantine(events.front()->job_id(), job.status());
        // Held already: charged even beyond the budget, never refused.
        if (budget_ != nullptr) budget_->Charge((*job)->worst_case_bytes());
        Shard& shard = ShardOf((*job)->id());
        MutexLock lock(&shard.mu);
        shard.jobs.emplace((*job)->id(), *std::move(job));
        size_.fetch_add(1, std::memory_order_relaxed);
        return absl::OkStatus();
      },
      quarantine);
}

void JobRegistry::Revive(const std::string& job_id) {
  MutexLock lock(&revive_mu_);
  if (closing_ || store_ == nullptr) return;
  store_->LoadJob(job_id, [this, job_id](
                              absl::StatusOr<absl::Span<v1::JobEvent* const>> events) {
    MutexLock revive_lock(&revive_mu_);
    // Unreadable: the job stays closed, answering why.
    if (closing_ || !events.ok()) return;
    std::shared_ptr<Job> rebuilt;
    absl::Status damage;
    if (!events->empty()) {
      auto job = Job::Replay(*events, job_options_, store_);
      if (job.ok()) {
        rebuilt = *std::move(job);
      } else {
        damage = job.status();
      }
    }
    Shard& shard = ShardOf(job_id);
    MutexLock shard_lock(&shard.mu);
    auto it = shard.jobs.find(job_id);
    // Deleted meanwhile, or rebuilt already by an earlier revival.
    if (it == shard.jobs.end() || !it->second->closed()) return;
    if (rebuilt != nullptr) {
      it->second = std::move(rebuilt);
      return;
    }
    if (budget_ != nullptr) budget_->Release(it->second->worst_case_bytes());
    shard.jobs.erase(it);
    size_.fetch_sub(1, std::memory_order_relaxed);
    if (!damage.ok()) {
      MutexLock damaged_lock(&damaged_mu_);
      damaged_.insert_or_assign(job_id, std::string(damage.message()));
      damaged_size_.store(damaged_.size(), std::memory_order_relaxed);
    }
  });
}

void JobRegistry::Create(const v1::CreateJobRequest& request, CreateDone done) {
  std::shared_ptr<Job> job;
  bool created = false;
  absl::Status status = CreateOrFind(request, &job, &created);
  if (!status.ok()) {
    std::move(done)(status);
    return;
  }
  // Outside the shard's lock: the observer runs under the job's, and a job
  // whose write fails takes a shard's lock under its own (Revive).
  if (created) job->AnnounceCreation();
  job->WhenDurable([job, done = std::move(done)](absl::Status durable) mutable {
    if (durable.ok()) {
      std::move(done)(std::move(job));
    } else {
      std::move(done)(durable);
    }
  });
}

absl::Status JobRegistry::CreateOrFind(const v1::CreateJobRequest& request,
                                       std::shared_ptr<Job>* found, bool* is_new) {
  v1::JobCreated created;
  *created.mutable_spec() = request.spec();
  *created.mutable_base_lrs() = request.base_lrs();
  created.set_world_size(request.world_size() == 0 ? 1 : request.world_size());
  created.set_aggregation(request.aggregation() == v1::AGGREGATION_UNSPECIFIED
                              ? v1::WEIGHTED_MEAN
                              : request.aggregation());
  created.set_max_look_ahead(request.max_look_ahead());
  Shard& shard = ShardOf(request.job_id());
  {
    ReaderMutexLock lock(&shard.mu);
    if (auto it = shard.jobs.find(request.job_id()); it != shard.jobs.end()) {
      *found = it->second;
      return it->second->MatchesCreation(created);
    }
  }
  if (auto damage = Damage(request.job_id())) return DamagedError(request.job_id(), *damage);
  // Build outside the lock: validating and constructing a schedule is the
  // costly part of a CreateJob.
  auto built = Job::Create(request.job_id(), created, absl::Now(), job_options_, store_);
  if (!built.ok()) return built.status();
  MutexLock lock(&shard.mu);
  if (auto it = shard.jobs.find(request.job_id()); it != shard.jobs.end()) {
    *found = it->second;
    return it->second->MatchesCreation(created);
  }
  if (absl::Status closed = this->closed(); !closed.ok()) return closed;
  if (size_.load(std::memory_order_relaxed) >= max_jobs_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server holds its maximum of ", max_jobs_, " jobs; delete finished jobs"));
  }
  if (budget_ != nullptr && !budget_->TryCharge((*built)->worst_case_bytes())) {
    constexpr double kMiB = 1 << 20;
    return absl::ResourceExhaustedError(absl::StrFormat(
        "memory budget: job %s may take up to %.1f MiB (%d groups, %d steps of history), and "
        "%.1f of the server's %.1f MiB (--memory_budget) are taken; delete finished jobs, "
        "lower --history_window or raise --memory_budget",
        request.job_id(), (*built)->worst_case_bytes() / kMiB, request.base_lrs_size(),
        job_options_.history_window, budget_->charged() / kMiB, budget_->limit() / kMiB));
  }
  *found = *built;
  *is_new = true;
  shard.jobs.emplace(request.job_id(), *std::move(built));
  size_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Job>> JobRegistry::Find(absl::string_view job_id) const {
  Shard& shard = ShardOf(job_id);
  ReaderMutexLock lock(&shard.mu);
  auto it = shard.jobs.find(job_id);
  if (it != shard.jobs.end()) return it->second;
  if (auto damage = Damage(job_id)) return DamagedError(job_id, *damage);
  return absl::NotFoundError(absl::StrCat("job ", job_id, " does not exist"));
}

std::optional<std::string> JobRegistry::Damage(absl::string_view job_id) const {
  if (damaged_size_.load(std::memory_order_relaxed) == 0) return std::nullopt;
  MutexLock lock(&damaged_mu_);
  auto it = damaged_.find(job_id);
  if (it == damaged_.end()) return std::nullopt;
  return it->second;
}

size_t JobRegistry::damaged() const { return damaged_size_.load(std::memory_order_relaxed); }

void JobRegistry::Delete(absl::string_view job_id, Job::Done done) {
  std::optional<Job::Finish> finish;
  {
    Shard& shard = ShardOf(job_id);
    MutexLock lock(&shard.mu);
    auto it = shard.jobs.find(job_id);
    if (it == shard.jobs.end()) {
      if (store_ != nullptr && Damage(job_id)) {
        MutexLock damaged_lock(&damaged_mu_);
        damaged_.erase(job_id);
        damaged_size_.store(damaged_.size(), std::memory_order_relaxed);
        store_->DeleteJob(std::string(job_id), std::move(done));
        return;
      }
      std::move(done)(absl::NotFoundError(absl::StrCat("job ", job_id, " does not exist")));
      return;
    }
    if (absl::Status closed = this->closed(); !closed.ok()) {
      std::move(done)(closed);
      return;
    }
    // Under the shard's lock: the removal of the log is queued to the store
    // before any job created under the same id can queue its creation.
    finish = it->second->Delete(std::move(done));
    if (budget_ != nullptr) budget_->Release(it->second->worst_case_bytes());
    shard.jobs.erase(it);
    size_.fetch_sub(1, std::memory_order_relaxed);
  }
  std::move (*finish)();
}

std::vector<JobRegistry::Listed> JobRegistry::List(absl::string_view after, size_t limit,
                                                   bool* more, absl::string_view prefix) const {
  std::vector<Listed> jobs;
  const auto wanted = [&](const std::string& id) {
    return id > after && absl::StartsWith(id, prefix);
  };
  for (const Shard& shard : shards_) {
    ReaderMutexLock lock(&shard.mu);
    for (const auto& [id, job] : shard.jobs) {
      if (wanted(id)) jobs.push_back({id, job, ""});
    }
  }
  if (damaged() > 0) {
    MutexLock lock(&damaged_mu_);
    for (const auto& [id, damage] : damaged_) {
      if (wanted(id)) jobs.push_back({id, nullptr, damage});
    }
  }
  const auto by_id = [](const Listed& a, const Listed& b) { return a.id < b.id; };
  *more = jobs.size() > limit;
  if (*more) {
    std::nth_element(jobs.begin(), jobs.begin() + limit, jobs.end(), by_id);
    jobs.resize(limit);
  }
  std::sort(jobs.begin(), jobs.end(), by_id);
  return jobs;
}

absl::Status JobRegistry::closed() const {
  return closed_.load(std::memory_order_acquire) ? closed_status_ : absl::OkStatus();
}

size_t JobRegistry::CloseAll(const absl::Status& status) {
  {
    MutexLock lock(&revive_mu_);
    closing_ = true;
  }
  closed_status_ = status;
  closed_.store(true, std::memory_order_release);
  size_t closed = 0;
  for (Shard& shard : shards_) {
    std::vector<std::shared_ptr<Job>> jobs;
    {
      ReaderMutexLock lock(&shard.mu);
      for (const auto& [id, job] : shard.jobs) jobs.push_back(job);
    }
    for (const auto& job : jobs) job->Close(status);
    closed += jobs.size();
  }
  return closed;
}

}  // namespace lrsched
