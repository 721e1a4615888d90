#include "service/server/job_registry.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace lrsched {

JobRegistry::Shard& JobRegistry::ShardOf(absl::string_view job_id) const {
  return shards_[absl::Hash<absl::string_view>()(job_id) % kShards];
}

absl::Status JobRegistry::Recover() {
  if (store_ == nullptr) return absl::OkStatus();
  return store_->LoadAll([this](absl::Span<v1::JobEvent* const> events) -> absl::Status {
    auto job = Job::Replay(events, job_options_, store_);
    if (!job.ok()) return job.status();
    Shard& shard = ShardOf((*job)->id());
    MutexLock lock(&shard.mu);
    shard.jobs.emplace((*job)->id(), *std::move(job));
    size_.fetch_add(1, std::memory_order_relaxed);
    return absl::OkStatus();
  });
}

void JobRegistry::Create(const v1::CreateJobRequest& request, CreateDone done) {
  std::shared_ptr<Job> job;
  absl::Status status = CreateOrFind(request, &job);
  if (!status.ok()) {
    std::move(done)(status);
    return;
  }
  job->WhenDurable([job, done = std::move(done)](absl::Status durable) mutable {
    if (durable.ok()) {
      std::move(done)(std::move(job));
    } else {
      std::move(done)(durable);
    }
  });
}

absl::Status JobRegistry::CreateOrFind(const v1::CreateJobRequest& request,
                                       std::shared_ptr<Job>* found) {
  v1::JobCreated created;
  *created.mutable_spec() = request.spec();
  *created.mutable_base_lrs() = request.base_lrs();
  created.set_world_size(request.world_size() == 0 ? 1 : request.world_size());
  created.set_aggregation(request.aggregation() == v1::AGGREGATION_UNSPECIFIED
                              ? v1::WEIGHTED_MEAN
                              : request.aggregation());
  Shard& shard = ShardOf(request.job_id());
  {
    ReaderMutexLock lock(&shard.mu);
    if (auto it = shard.jobs.find(request.job_id()); it != shard.jobs.end()) {
      *found = it->second;
      return it->second->MatchesCreation(created);
    }
  }
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
  *found = *built;
  shard.jobs.emplace(request.job_id(), *std::move(built));
  size_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Job>> JobRegistry::Find(absl::string_view job_id) const {
  Shard& shard = ShardOf(job_id);
  ReaderMutexLock lock(&shard.mu);
  auto it = shard.jobs.find(job_id);
  if (it == shard.jobs.end()) {
    return absl::NotFoundError(absl::StrCat("job ", job_id, " does not exist"));
  }
  return it->second;
}

void JobRegistry::Delete(absl::string_view job_id, Job::Done done) {
  std::shared_ptr<Job> job;
  {
    Shard& shard = ShardOf(job_id);
    MutexLock lock(&shard.mu);
    auto it = shard.jobs.find(job_id);
    if (it == shard.jobs.end()) {
      std::move(done)(absl::NotFoundError(absl::StrCat("job ", job_id, " does not exist")));
      return;
    }
    if (absl::Status closed = this->closed(); !closed.ok()) {
      std::move(done)(closed);
      return;
    }
    job = std::move(it->second);
    shard.jobs.erase(it);
    size_.fetch_sub(1, std::memory_order_relaxed);
  }
  job->Delete(std::move(done));
}

std::vector<std::shared_ptr<Job>> JobRegistry::List(absl::string_view after, size_t limit,
                                                    bool* more) const {
  std::vector<std::shared_ptr<Job>> jobs;
  for (const Shard& shard : shards_) {
    ReaderMutexLock lock(&shard.mu);
    for (const auto& [id, job] : shard.jobs) {
      if (id > after) jobs.push_back(job);
    }
  }
  const auto by_id = [](const auto& a, const auto& b) { return a->id() < b->id(); };
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
