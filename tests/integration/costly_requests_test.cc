// Costly but valid requests never stall the server: while clients ask
// 1,024-group jobs for steps far ahead (refused beyond what one call may
// compute, computed up to it), the health check and another job's Steps
// answer within a second every time (or one and a half far computations, on
// a machine or a build where one takes longer).
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::lrsched::testing::TestServer;
using ::testing::HasSubstr;

v1::CreateJobRequest WideJob(const std::string& id) {
  auto request = FromJson<v1::CreateJobRequest>(
      R"({"spec": {"cosine_annealing_warm_restarts": {"t_0": 1000}}})");
  request.set_job_id(id);
  for (int g = 0; g < 1024; ++g) request.add_base_lrs(0.1 + g * 1e-6);
  return request;
}

TEST(CostlyRequestsTest, FarStepsOnWideJobsNeverStallHealthOrOtherJobs) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(WideJob("wide0")), IsOk());
  ASSERT_THAT(server.CreateJob(WideJob("wide1")), IsOk());
  ASSERT_THAT(server.CreateJob(R"({"job_id": "small", "base_lrs": [0.1],
      "spec": {"exponential_lr": {"gamma": 0.999}}})"),
              IsOk());
  // The issue's request: two million steps ahead, refused at once.
  EXPECT_THAT(server.Step("wide0", 0, 2'000'000),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("ask for nearer steps first")));

  // What the most one call may compute costs on this machine, alone: the
  // bound below is relative to it, so that a slow machine or a sanitizer
  // build does not fail the test and a fast one still holds it.
  ASSERT_THAT(server.CreateJob(WideJob("alone")), IsOk());
  const absl::Time alone_start = absl::Now();
  ASSERT_THAT(server.Step("alone", 0, 4'096), IsOk());
  const absl::Duration alone = absl::Now() - alone_start;

  std::atomic<bool> stop{false};
  std::atomic<int> computed{0};
  std::vector<std::thread> costly;
  for (int t = 0; t < 2; ++t) {
    costly.emplace_back([&, t] {
      const std::string job = absl::StrCat("wide", t);
      int64_t step = 0;
      while (!stop) {
        // Refused, and the most one call computes (4,096 steps of 1,024
        // groups), one after the other.
        server.Step(job, 0, step + 2'000'000).IgnoreError();
        auto values = server.Step(job, 0, step + 4'096);
        if (!values.ok()) {
          ADD_FAILURE() << values.status();
          return;
        }
        step += 4'096;
        ++computed;
      }
    });
  }
  auto health = grpc::health::v1::Health::NewStub(server.channel());
  absl::Duration slowest_health, slowest_step;
  for (int64_t step = 0; step < 60 || computed < 8; ++step) {
    const absl::Time start = absl::Now();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(&context, request, &response).ok());
    const absl::Time checked = absl::Now();
    ASSERT_THAT(server.Step("small", 0, step), IsOk());
    slowest_health = std::max(slowest_health, checked - start);
    slowest_step = std::max(slowest_step, absl::Now() - checked);
    absl::SleepFor(absl::Milliseconds(20));
  }
  stop = true;
  for (auto& thread : costly) thread.join();
  // A stall was 13 s before calls were bounded: the small calls waited for
  // every far computation queued before them (two at a time here). Now they
  // share the cores with them, and wait for none.
  const absl::Duration bound = std::max(absl::Seconds(1), 1.5 * alone);
  std::printf(
      "far steps computed: %d; one far Step alone %s; slowest health check %s, "
      "slowest Step of the small job %s (bound %s)\n",
      computed.load(), absl::FormatDuration(alone).c_str(),
      absl::FormatDuration(slowest_health).c_str(), absl::FormatDuration(slowest_step).c_str(),
      absl::FormatDuration(bound).c_str());
  EXPECT_LT(slowest_health, bound);
  EXPECT_LT(slowest_step, bound);
}

// Overrides are kept only while their step is retained, at most 1 MiB of
// them: after 600 attempts on a 1,024-group job, GetJob and ListJobs answer,
// and a page of wide jobs stays under a default client's 4 MB.
TEST(CostlyRequestsTest, ManyOverridesOfAWideJobLeaveGetJobAndListJobsWorking) {
  ServerOptions options;
  options.job.history_window = 10;
  options.job.handed_out_chunk = 1;
  TestServer server(options);
  for (int j = 0; j < 200; ++j) {
    ASSERT_THAT(server.CreateJob(WideJob(absl::StrCat("wide", j))), IsOk());
  }
  v1::SetLearningRateRequest set;
  set.set_job_id("wide0");
  for (int g = 0; g < 1024; ++g) set.mutable_lrs()->add_values(0.01 + g * 1e-6);
  int refused = 0;
  for (int i = 0; i < 600; ++i) {
    auto answer = server.SetLearningRate(set);
    if (!answer.ok()) {
      EXPECT_THAT(answer, StatusIs(absl::StatusCode::kResourceExhausted,
                                   HasSubstr("the most it keeps (1048576)")));
      ++refused;
    }
  }
  // 8 KB each: 128 kept.
  EXPECT_EQ(refused, 600 - 128);
  auto job = server.GetJob("wide0");
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(job->overrides_size(), 128);
  EXPECT_LT(job->ByteSizeLong(), size_t{2} << 20);
  // The BASIC view has no overrides: the spec, the base and latest rates.
  v1::GetJobRequest basic;
  basic.set_job_id("wide0");
  basic.set_view(v1::JOB_VIEW_BASIC);
  auto summary = server.Call(&v1::SchedulerService::Stub::GetJob, basic);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->overrides_size(), 0);
  EXPECT_LT(summary->ByteSizeLong(), size_t{20} << 10);
  // Listing every job in full, page by page, each page under 4 MB (200 jobs
  // of 8 KB and the 1 MB of overrides take two pages).
  std::string token;
  int listed = 0;
  int pages = 0;
  do {
    v1::ListJobsRequest list;
    list.set_page_size(1000);
    list.set_page_token(token);
    list.set_view(v1::JOB_VIEW_FULL);
    auto page = server.Call(&v1::SchedulerService::Stub::ListJobs, list);
    ASSERT_THAT(page, IsOk());
    EXPECT_LT(page->ByteSizeLong(), size_t{4} << 20);
    EXPECT_GT(page->jobs_size(), 0);
    listed += page->jobs_size();
    ++pages;
    token = page->next_page_token();
  } while (!token.empty());
  EXPECT_EQ(listed, 200);
  EXPECT_GE(pages, 2);
  // Once the retained window has moved past their step, they are let go.
  ASSERT_THAT(server.Step("wide0", 0, 15), IsOk());
  job = server.GetJob("wide0");
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(job->overrides_size(), 0);
  EXPECT_THAT(server.SetLearningRate(set), IsOk());
}

// A wide plateau job's history is larger than one answer: GetJob returns
// the latest decisions within 2 MiB and pages back through the rest.
TEST(CostlyRequestsTest, ALongHistoryOfAWideJobPagesBack) {
  TestServer server;
  auto create = FromJson<v1::CreateJobRequest>(
      R"({"job_id": "plateau", "spec": {"reduce_lr_on_plateau": {"patience": 2}}})");
  for (int g = 0; g < 1024; ++g) create.add_base_lrs(0.1 + g * 1e-6);
  ASSERT_THAT(server.CreateJob(create), IsOk());
  constexpr int64_t kSteps = 600;
  for (int64_t step = 0; step < kSteps; ++step) {
    ASSERT_THAT(server.Step("plateau", 0, step), IsOk());
    ASSERT_THAT(server.ReportMetric("plateau", 0, step, 1.0 + (step % 7)), IsOk());
  }
  ASSERT_THAT(server.Step("plateau", 0, kSteps), IsOk());
  std::vector<int64_t> steps;
  int pages = 0;
  v1::GetJobRequest request;
  request.set_job_id("plateau");
  while (true) {
    auto page = server.Call(&v1::SchedulerService::Stub::GetJob, request);
    ASSERT_THAT(page, IsOk());
    EXPECT_LT(page->ByteSizeLong(), size_t{3} << 20);
    ASSERT_GT(page->metric_history_size(), 0);
    ++pages;
    std::vector<int64_t> older;
    for (const auto& decision : page->metric_history()) older.push_back(decision.step());
    steps.insert(steps.begin(), older.begin(), older.end());
    if (!page->more_metric_history()) break;
    request.set_history_before_step(page->metric_history(0).step());
  }
  std::printf("%zu decisions of 1,024 groups in %d pages\n", steps.size(), pages);
  EXPECT_GE(pages, 3);
  ASSERT_EQ(steps.size(), static_cast<size_t>(kSteps));
  for (int64_t step = 0; step < kSteps; ++step) EXPECT_EQ(steps[step], step);
  // The summary stays small.
  request.set_view(v1::JOB_VIEW_BASIC);
  request.set_history_before_step(0);
  auto summary = server.Call(&v1::SchedulerService::Stub::GetJob, request);
  ASSERT_THAT(summary, IsOk());
  EXPECT_LT(summary->ByteSizeLong(), size_t{40} << 10);
}

}  // namespace
}  // namespace lrsched
