#include "service/server/job_registry.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::StatusIs;

v1::CreateJobRequest Request(const std::string& job_id) {
  auto request = FromJson<v1::CreateJobRequest>(
      R"({"base_lrs": [0.1], "spec": {"reduce_lr_on_plateau": {}}})");
  request.set_job_id(job_id);
  return request;
}

absl::StatusOr<std::shared_ptr<Job>> Create(JobRegistry& registry, const std::string& job_id) {
  absl::StatusOr<std::shared_ptr<Job>> created = absl::UnknownError("not answered");
  registry.Create(Request(job_id),
                  [&](absl::StatusOr<std::shared_ptr<Job>> job) { created = std::move(job); });
  return created;
}

TEST(JobRegistryTest, CloseAllClosesEveryJobAndRefusesNewOnesAndDeletions) {
  JobRegistry registry(10, JobOptions(), /*store=*/nullptr);
  ASSERT_TRUE(Create(registry, "a").ok());
  ASSERT_TRUE(Create(registry, "b").ok());
  const absl::Status closing = absl::UnavailableError("closing");

  EXPECT_EQ(registry.CloseAll(closing), 2u);

  EXPECT_THAT(Create(registry, "c").status(), StatusIs(absl::StatusCode::kUnavailable, "closing"));
  absl::Status deleted;
  registry.Delete("a", [&](absl::Status status) { deleted = status; });
  EXPECT_THAT(deleted, StatusIs(absl::StatusCode::kUnavailable, "closing"));
  auto job = registry.Find("a");
  ASSERT_TRUE(job.ok());
  v1::StepRequest step;
  step.set_job_id("a");
  v1::StepResponse response;
  absl::Status stepped;
  (*job)->Step(step, &response, [&](absl::Status status) { stepped = status; }, nullptr);
  EXPECT_THAT(stepped, StatusIs(absl::StatusCode::kUnavailable, "closing"));
  EXPECT_EQ(registry.size(), 2u);
}

// Counts the creation events the server's observer (its log, its metrics)
// is told of, per job.
class CreationCounter final : public JobObserver {
 public:
  void OnEvent(const v1::JobEvent& event) override {
    if (!event.has_created()) return;
    absl::MutexLock lock(&mu_);
    ++created_[event.job_id()];
  }
  void OnClosed(const std::string&, const absl::Status&) override {}
  absl::flat_hash_map<std::string, int> created() {
    absl::MutexLock lock(&mu_);
    return created_;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> created_ ABSL_GUARDED_BY(mu_);
};

// Every rank of a job creates it at start: of the jobs built by concurrent
// creations only the one kept may be announced (the server logged
// job_created twice for one job).
TEST(JobRegistryTest, ConcurrentCreationsOfOneJobAnnounceItOnce) {
  CreationCounter counter;
  JobOptions options;
  options.observer = &counter;
  JobRegistry registry(1000, options, /*store=*/nullptr);
  constexpr int kJobs = 300, kThreads = 4;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int j = 0; j < kJobs; ++j) {
        if (!Create(registry, absl::StrCat("job-", j)).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(failures.load(), 0);
  const auto created = counter.created();
  EXPECT_EQ(created.size(), static_cast<size_t>(kJobs));
  for (const auto& [job_id, times] : created) EXPECT_EQ(times, 1) << job_id;
}

}  // namespace
}  // namespace lrsched
