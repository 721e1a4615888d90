// The retained window follows the slowest rank: whatever a faster rank asks
// (the largest look-ahead, a step millions ahead), a step that another rank
// has not asked past stays served, before and after a restart; the faster
// rank waits for the slower one instead, and goes on once it moves.
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_directory.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::lrsched::testing::TestServer;
using ::testing::HasSubstr;

constexpr char kTwoRanks[] = R"({"job_id": "w", "base_lrs": [0.1, 0.2], "world_size": 2,
    "spec": {"exponential_lr": {"gamma": 0.9999}}})";

// Waits (without a time limit of its own: the test's is enough) until the
// job has `count` parked Steps.
void AwaitWaitingSteps(TestServer& server, int count) {
  while (true) {
    auto job = server.GetJob("w");
    ASSERT_THAT(job, IsOk());
    if (job->waiting_steps() == count) return;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

ServerOptions SmallWindow(int64_t history_window) {
  ServerOptions options;
  options.job.history_window = history_window;
  options.job.handed_out_chunk = 5;
  return options;
}

// Grows job "w" to two ranks; its view after.
v1::Job GrowToTwoRanks(TestServer& server) {
  v1::SetWorldSizeRequest grow;
  grow.set_job_id("w");
  grow.set_world_size(2);
  auto job = server.Call(&v1::SchedulerService::Stub::SetWorldSize, grow);
  EXPECT_THAT(job, IsOk());
  return job.ok() ? *job : v1::Job();
}

TEST(RetainedWindowTest, AFasterRankNeverTakesAwayTheStepsOfASlowerOne) {
  ::lrsched::testing::TempDirectory directory;
  ServerOptions options;
  options.state = directory.File("state.db");
  ASSERT_EQ(options.job.history_window, 10'000);
  v1::StepValues hundred;
  {
    TestServer server(options);
    ASSERT_THAT(server.CreateJob(kTwoRanks), IsOk());
    for (int64_t step = 0; step <= 100; ++step) {
      ASSERT_THAT(server.Step("w", 0, step), IsOk());
      if (step < 100) {
        ASSERT_THAT(server.Step("w", 1, step), IsOk());
      }
    }
    // The issue's request: rank 0 at step 101 with the largest look-ahead.
    // It gets what the window holds without leaving rank 1's step 100.
    auto ahead = server.Step("w", 0, 101, /*look_ahead=*/100'000);
    ASSERT_THAT(ahead, IsOk());
    EXPECT_EQ(ahead->values(0).step(), 101);
    EXPECT_GT(ahead->values_size(), 1'000);
    EXPECT_LE(ahead->values(ahead->values_size() - 1).step(), 100 + 10'000 - 1);
    std::printf("rank 0 at 101 with look_ahead 100000 got steps 101..%lld\n",
                static_cast<long long>(ahead->values(ahead->values_size() - 1).step()));
    // Millions of steps ahead: it waits for rank 1.
    EXPECT_THAT(server.Step("w", 0, 5'000'000, 0, absl::Milliseconds(300)),
                StatusIs(absl::StatusCode::kDeadlineExceeded, ::testing::_));
    // Nor can a report take the steps away.
    EXPECT_THAT(server.ReportMetric("w", 0, 4'000'000, 1.0),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("takes no metric")));
    auto served = server.Step("w", 1, 100);
    ASSERT_THAT(served, IsOk());
    hundred = served->values(0);
    EXPECT_EQ(hundred.step(), 100);
    ASSERT_THAT(server.Step("w", 1, 102), IsOk());
  }
  TestServer server(options);
  auto served = server.Step("w", 1, 100);
  ASSERT_THAT(served, IsOk());
  EXPECT_EQ(served->values(0).SerializeAsString(), hundred.SerializeAsString());

  // Rank 0 far ahead waits; rank 1 asking past what was handed out lets it go.
  absl::StatusOr<v1::StepResponse> far;
  std::thread faster([&] { far = server.Step("w", 0, 12'000); });
  AwaitWaitingSteps(server, 1);
  auto job = server.GetJob("w");
  ASSERT_THAT(job, IsOk());
  ASSERT_LT(job->handed_out_step(), 12'000);
  ASSERT_THAT(server.Step("w", 1, job->handed_out_step() + 1), IsOk());
  faster.join();
  ASSERT_THAT(far, IsOk());
  EXPECT_EQ(far->values(0).step(), 12'000);
  // Both ranks have passed step 100 now: the window may leave it.
  job = server.GetJob("w");
  ASSERT_THAT(job, IsOk());
  EXPECT_GT(job->first_retained_step(), 100);
  EXPECT_THAT(server.Step("w", 1, 100), StatusIs(absl::StatusCode::kOutOfRange, ::testing::_));
}

// A rank that joins (the world grows) has asked for nothing yet: the window
// keeps what it holds for it until it asks.
TEST(RetainedWindowTest, ARankThatJoinsKeepsTheWindowUntilItAsks) {
  TestServer server(SmallWindow(50));
  ASSERT_THAT(server.CreateJob(R"({"job_id": "w", "base_lrs": [0.1],
      "spec": {"cosine_annealing_lr": {"t_max": 1000}}})"),
              IsOk());
  for (int64_t step = 0; step < 200; ++step) ASSERT_THAT(server.Step("w", 0, step), IsOk());
  const int64_t first = GrowToTwoRanks(server).first_retained_step();
  EXPECT_THAT(server.Step("w", 0, first + 60, 0, absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, ::testing::_));
  ASSERT_THAT(server.Step("w", 1, first), IsOk());
  ASSERT_THAT(server.Step("w", 1, first + 60), IsOk());
  ASSERT_THAT(server.Step("w", 0, first + 60), IsOk());
}

// A job of one rank that grows: the new rank is served every retained step,
// then both go on in step.
TEST(RetainedWindowTest, AOneRankJobThatGrowsServesTheNewRankEveryRetainedStep) {
  TestServer server(SmallWindow(20));
  ASSERT_THAT(server.CreateJob(R"({"job_id": "w", "base_lrs": [0.1],
      "spec": {"exponential_lr": {"gamma": 0.9}}})"),
              IsOk());
  ASSERT_THAT(server.Step("w", 0, 0), IsOk());
  ASSERT_THAT(server.Step("w", 0, 30), IsOk());
  const v1::Job grown = GrowToTwoRanks(server);
  const v1::Job* job = &grown;
  for (int64_t step = job->first_retained_step(); step <= job->handed_out_step(); ++step) {
    ASSERT_THAT(server.Step("w", 1, step), IsOk()) << "step " << step;
  }
  for (int64_t step = job->handed_out_step() + 1; step < 100; ++step) {
    absl::StatusOr<v1::StepResponse> first;
    std::thread rank0([&] { first = server.Step("w", 0, step); });
    ASSERT_THAT(server.Step("w", 1, step), IsOk()) << "step " << step;
    rank0.join();
    ASSERT_THAT(first, IsOk()) << "step " << step;
  }
}

// A faster rank that waits goes on as soon as the slower one asks for a
// later step, even one already handed out.
TEST(RetainedWindowTest, AWaitingRankGoesOnOnceTheSlowerOneAsksFurther) {
  TestServer server(SmallWindow(20));
  ASSERT_THAT(server.CreateJob(R"({"job_id": "w", "base_lrs": [0.1], "world_size": 2,
      "spec": {"exponential_lr": {"gamma": 0.9}}})"),
              IsOk());
  ASSERT_THAT(server.Step("w", 1, 0), IsOk());
  ASSERT_THAT(server.Step("w", 0, 0, /*look_ahead=*/19), IsOk());
  absl::StatusOr<v1::StepResponse> far;
  std::thread faster([&] { far = server.Step("w", 0, 21); });
  AwaitWaitingSteps(server, 1);
  ASSERT_THAT(server.Step("w", 1, 10), IsOk());
  faster.join();
  ASSERT_THAT(far, IsOk());
  EXPECT_EQ(far->values(0).step(), 21);
}

// A Step parked far ahead (for as long as its deadline) does not make every
// Step of the other rank a write: a rank's position is recorded for a
// waiting Step only when it stops holding that Step back.
TEST(RetainedWindowTest, AStepWaitingFarAheadDoesNotMakeEveryOtherStepAWrite) {
  TestServer server(SmallWindow(20));
  ASSERT_THAT(server.CreateJob(R"({"job_id": "w", "base_lrs": [0.1], "world_size": 2,
      "spec": {"exponential_lr": {"gamma": 0.999}}})"),
              IsOk());
  ASSERT_THAT(server.Step("w", 0, 0), IsOk());
  absl::StatusOr<v1::StepResponse> far;
  std::thread faster([&] { far = server.Step("w", 0, 5'000'000, 0, absl::Minutes(5)); });
  AwaitWaitingSteps(server, 1);
  const int64_t before = server.GetJob("w")->event_count();
  for (int64_t step = 0; step < 400; ++step) ASSERT_THAT(server.Step("w", 1, step), IsOk());
  auto after = server.GetJob("w");
  ASSERT_THAT(after, IsOk());
  // The far Step waited throughout, however slowly the 400 Steps went.
  ASSERT_EQ(after->waiting_steps(), 1);
  const int64_t written = after->event_count() - before;
  std::printf("events written for 400 Steps of rank 1: %lld\n", static_cast<long long>(written));
  // A handed-out raise and a request a chunk (5 steps): 160, not 400 more.
  EXPECT_LE(written, 2 * 400 / 5 + 4);
  // Deleting the job ends the wait.
  grpc::ClientContext context;
  v1::DeleteJobRequest request;
  request.set_job_id("w");
  v1::DeleteJobResponse response;
  ASSERT_TRUE(server.stub().DeleteJob(&context, request, &response).ok());
  faster.join();
  EXPECT_THAT(far, StatusIs(absl::StatusCode::kNotFound, HasSubstr("deleted")));
}

// One worker asks for what it likes: a job of one rank keeps the old rule
// (the window ends where the asked step is still retained).
TEST(RetainedWindowTest, ASingleWorkerIsNeverMadeToWait) {
  TestServer server(SmallWindow(50));
  ASSERT_THAT(server.CreateJob(R"({"job_id": "w", "base_lrs": [0.1],
      "spec": {"exponential_lr": {"gamma": 0.99}}})"),
              IsOk());
  ASSERT_THAT(server.Step("w", 0, 0), IsOk());
  auto far = server.Step("w", 0, 100'000, /*look_ahead=*/1'000);
  ASSERT_THAT(far, IsOk());
  EXPECT_EQ(far->values_size(), 50);
  EXPECT_THAT(server.Step("w", 0, 99'000), StatusIs(absl::StatusCode::kOutOfRange, ::testing::_));
}

}  // namespace
}  // namespace lrsched
