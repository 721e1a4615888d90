// CreateJob, GetJob, ListJobs, DeleteJob and SetWorldSize against a real server.
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::lrsched::testing::TestServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPlateauJob[] = R"({"job_id": "plateau", "base_lrs": [0.1, 0.01],
    "spec": {"reduce_lr_on_plateau": {"patience": 1}}, "world_size": 2})";

TEST(CreateJobTest, ReturnsTheNewJob) {
  TestServer server;
  auto job = server.CreateJob(kPlateauJob);
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(job->job_id(), "plateau");
  EXPECT_EQ(job->world_size(), 2);
  EXPECT_EQ(job->aggregation(), v1::WEIGHTED_MEAN);
  EXPECT_FALSE(job->has_latest()) << "nothing handed out yet";
  EXPECT_EQ(job->decided_step(), 0);
  EXPECT_EQ(job->handed_out_step(), -1);
  EXPECT_EQ(job->event_count(), 1);
}

TEST(CreateJobTest, TheSameRequestAgainReturnsTheSameJob) {
  TestServer server;
  auto first = server.CreateJob(kPlateauJob);
  auto second = server.CreateJob(kPlateauJob);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(first->create_time().seconds(), second->create_time().seconds());
  EXPECT_EQ(first->create_time().nanos(), second->create_time().nanos());
  EXPECT_EQ(second->event_count(), 1);
}

TEST(CreateJobTest, ADifferentRequestUnderTheSameIdSaysWhatDiffers) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  EXPECT_THAT(server.CreateJob(R"({"job_id": "plateau", "base_lrs": [0.1, 0.01],
                 "spec": {"reduce_lr_on_plateau": {"patience": 2}}, "world_size": 2})"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("different spec")));
  EXPECT_THAT(server.CreateJob(R"({"job_id": "plateau", "base_lrs": [0.1, 0.01],
                 "spec": {"reduce_lr_on_plateau": {"patience": 1}}, "world_size": 3})"),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("different world_size (2, asked 3)")));
  EXPECT_THAT(server.CreateJob(R"({"job_id": "plateau", "base_lrs": [0.1],
                 "spec": {"reduce_lr_on_plateau": {"patience": 1}}, "world_size": 2})"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("different base_lrs")));
}

TEST(CreateJobTest, RefusesJobsBeyondMaxJobs) {
  ServerOptions options;
  options.max_jobs = 2;
  TestServer server(options);
  for (const char* id : {"a", "b"}) {
    v1::CreateJobRequest request = FromJson<v1::CreateJobRequest>(
        R"({"spec": {"exponential_lr": {"gamma": 0.9}}, "base_lrs": [0.1]})");
    request.set_job_id(id);
    ASSERT_THAT(server.CreateJob(request), IsOk());
  }
  EXPECT_THAT(server.CreateJob(R"({"job_id": "c", "spec": {"exponential_lr": {"gamma": 0.9}},
                                   "base_lrs": [0.1]})"),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("maximum of 2 jobs")));
}

TEST(GetJobTest, UnknownJobIsNotFound) {
  TestServer server;
  EXPECT_THAT(server.GetJob("nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("job nope does not exist")));
}

TEST(GetJobTest, ShowsHistoryPendingReportsAndCounters) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  ASSERT_THAT(server.Step("plateau", 0, 0), IsOk());
  ASSERT_THAT(server.ReportMetric("plateau", 0, 0, 1.0, 10), IsOk());
  ASSERT_THAT(server.ReportMetric("plateau", 1, 0, 3.0, 30), IsOk());
  ASSERT_THAT(server.ReportMetric("plateau", 1, 1, 2.0, 1), IsOk());
  auto job = server.GetJob("plateau");
  ASSERT_THAT(job, IsOk());
  ASSERT_EQ(job->metric_history_size(), 1);
  const v1::AggregatedMetric& aggregated = job->metric_history(0);
  EXPECT_EQ(aggregated.step(), 0);
  EXPECT_EQ(aggregated.value(), (1.0 * 10 + 3.0 * 30) / 40);
  EXPECT_EQ(aggregated.total_weight(), 40);
  EXPECT_EQ(aggregated.plateau().best(), 2.5);
  EXPECT_EQ(aggregated.plateau().num_bad_epochs(), 0);
  EXPECT_FALSE(aggregated.reduced());
  EXPECT_THAT(aggregated.lrs(), ElementsAre(0.1, 0.01));
  ASSERT_EQ(job->pending_reports_size(), 1);
  EXPECT_EQ(job->pending_reports(0).rank(), 1);
  EXPECT_EQ(job->pending_reports(0).step(), 1);
  EXPECT_EQ(job->decided_step(), 1);
  // The aggregation also recorded the step it decided as handed out.
  EXPECT_EQ(job->handed_out_step(), 1);
  // created, handed out (0), 2 reports, aggregation, handed out (1), 1 report
  EXPECT_EQ(job->event_count(), 7);
  EXPECT_GT(job->stored_bytes(), 0);
}

TEST(ListJobsTest, PagesInIdOrderWithoutGapsOrRepeats) {
  TestServer server;
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) {
    v1::CreateJobRequest request = FromJson<v1::CreateJobRequest>(
        R"({"spec": {"step_lr": {"step_size": 3}}, "base_lrs": [0.1]})");
    request.set_job_id(absl::StrCat("job-", (i * 7) % 25 + 100));
    ids.push_back(request.job_id());
    ASSERT_THAT(server.CreateJob(request), IsOk());
  }
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> listed;
  v1::ListJobsRequest request;
  request.set_page_size(10);
  int pages = 0;
  do {
    auto page = server.Call(&v1::SchedulerService::Stub::ListJobs, request);
    ASSERT_THAT(page, IsOk());
    for (const auto& job : page->jobs()) {
      listed.push_back(job.job_id());
      EXPECT_EQ(job.metric_history_size(), 0);
    }
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(listed, ids);
}

TEST(DeleteJobTest, RemovesTheJobAndEndsItsWaitingSteps) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  absl::StatusOr<v1::StepResponse> waiting;
  std::thread waiter([&] { waiting = server.Step("plateau", 0, 1); });
  ASSERT_TRUE(::lrsched::testing::WaitUntil(
      [&] { return server.GetJob("plateau")->waiting_steps() == 1; }));
  v1::DeleteJobRequest request;
  request.set_job_id("plateau");
  EXPECT_THAT(server.Call(&v1::SchedulerService::Stub::DeleteJob, request), IsOk());
  waiter.join();
  EXPECT_THAT(waiting, StatusIs(absl::StatusCode::kNotFound, HasSubstr("deleted")));
  EXPECT_THAT(server.GetJob("plateau"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("plateau")));
  EXPECT_THAT(server.Call(&v1::SchedulerService::Stub::DeleteJob, request),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("does not exist")));
  // The id is free again.
  EXPECT_THAT(server.CreateJob(kPlateauJob), IsOk());
}

TEST(SetWorldSizeTest, AShrinkCompletesAStepThatTheRemainingRanksReported) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(R"({"job_id": "j", "base_lrs": [0.1], "world_size": 3,
                                   "spec": {"reduce_lr_on_plateau": {}}})"),
              IsOk());
  ASSERT_THAT(server.ReportMetric("j", 0, 0, 1.0), IsOk());
  ASSERT_THAT(server.ReportMetric("j", 1, 0, 2.0), IsOk());
  auto resized = server.Call(&v1::SchedulerService::Stub::SetWorldSize,
                             FromJson<v1::SetWorldSizeRequest>(R"({"job_id": "j", "world_size": 2})"));
  ASSERT_THAT(resized, IsOk());
  EXPECT_EQ(resized->world_size(), 2);
  EXPECT_EQ(resized->decided_step(), 1);
  EXPECT_THAT(server.ReportMetric("j", 2, 1, 1.0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("world_size 2, got 2")));
}

}  // namespace
}  // namespace lrsched
