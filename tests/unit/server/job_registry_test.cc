#include "service/server/job_registry.h"

#include <memory>

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

}  // namespace
}  // namespace lrsched
