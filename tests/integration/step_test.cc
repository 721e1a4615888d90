// Step: decided steps at once with look-ahead, undecided steps wait without a
// thread until decided, deadline or cancellation.
#include <thread>

#include "absl/synchronization/notification.h"
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
using ::lrsched::testing::WaitUntil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kCyclicJob[] = R"({"job_id": "cyclic", "base_lrs": [0.1],
    "spec": {"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 4}}})";
constexpr char kPlateauJob[] = R"({"job_id": "plateau", "base_lrs": [0.1],
    "spec": {"reduce_lr_on_plateau": {"patience": 0}}, "world_size": 2})";

TEST(StepTest, ReturnsTheStepAndItsLookAheadEqualToPreview) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kCyclicJob), IsOk());
  auto response = server.Step("cyclic", 0, 5, 10);
  ASSERT_THAT(response, IsOk());
  auto preview = server.Preview(FromJson<v1::PreviewScheduleRequest>(
      R"({"spec": {"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 4}},
          "base_lrs": [0.1], "steps": 20})"));
  ASSERT_THAT(preview, IsOk());
  ASSERT_EQ(response->values_size(), 11);
  for (int i = 0; i <= 10; ++i) {
    EXPECT_EQ(response->values(i).step(), 5 + i);
    EXPECT_THAT(response->values(i).lrs(), ElementsAre(preview->values(5 + i).lrs(0)));
    EXPECT_THAT(response->values(i).momentums(),
                ElementsAre(preview->values(5 + i).momentums(0)));
  }
  EXPECT_EQ(server.GetJob("cyclic")->handed_out_step(), 999);  // one chunk: steps 0..999
}

TEST(StepTest, ALongLookAheadOverManyGroupsStaysUnderTheDefaultMessageLimit) {
  TestServer server;
  v1::CreateJobRequest create = FromJson<v1::CreateJobRequest>(
      R"({"job_id": "wide", "spec": {"exponential_lr": {"gamma": 0.999}}})");
  for (int g = 0; g < 1024; ++g) create.add_base_lrs(0.1);
  ASSERT_THAT(server.CreateJob(create), IsOk());
  auto response = server.Step("wide", 0, 0, 100000);
  ASSERT_THAT(response, IsOk());  // a 4 MB limit on the client would refuse more
  EXPECT_EQ(response->values_size(), 400000 / 1024);
  EXPECT_LT(response->ByteSizeLong(), 4u << 20);
}

TEST(StepTest, StepsBeforeTheWindowOrAfterTheEndAreOutOfRange) {
  ServerOptions options;
  options.job.history_window = 10;
  TestServer server(options);
  ASSERT_THAT(server.CreateJob(R"({"job_id": "one", "base_lrs": [0.1],
      "spec": {"one_cycle_lr": {"max_lr": [0.1], "total_steps": 100}}})"),
              IsOk());
  ASSERT_THAT(server.Step("one", 0, 50), IsOk());
  EXPECT_THAT(server.Step("one", 0, 5),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("retained window [50, 59]")));
  EXPECT_THAT(server.Step("one", 0, 101),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("ends at step 100, got 101")));
  auto last = server.Step("one", 0, 95, 1000);
  ASSERT_THAT(last, IsOk());
  EXPECT_EQ(last->values_size(), 6);  // 95..100
}

TEST(StepTest, WaitsForTheLastWorkersReportAndIsReleasedByIt) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  ASSERT_THAT(server.ReportMetric("plateau", 0, 0, 1.0), IsOk());
  absl::StatusOr<v1::StepResponse> waited;
  absl::Notification returned;
  std::thread worker([&] {
    waited = server.Step("plateau", 0, 1);
    returned.Notify();
  });
  ASSERT_TRUE(WaitUntil([&] { return server.GetJob("plateau")->waiting_steps() == 1; }));
  EXPECT_FALSE(returned.HasBeenNotified());
  auto report = server.ReportMetric("plateau", 1, 0, 1.0);
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->aggregated());
  worker.join();
  ASSERT_THAT(waited, IsOk());
  ASSERT_EQ(waited->values_size(), 1);
  EXPECT_EQ(waited->values(0).step(), 1);
  EXPECT_THAT(waited->values(0).lrs(), ElementsAre(0.1));
  EXPECT_EQ(server.GetJob("plateau")->waiting_steps(), 0);
}

TEST(StepTest, AnUndecidedStepTimesOutAndLeavesNothingParked) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  EXPECT_THAT(server.Step("plateau", 0, 1, 0, absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, ::testing::_));
  EXPECT_TRUE(WaitUntil([&] { return server.GetJob("plateau")->waiting_steps() == 0; }));
}

TEST(StepTest, ACancelledWaitingStepLeavesNothingParked) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  grpc::ClientContext context;
  v1::StepRequest request = FromJson<v1::StepRequest>(R"({"job_id": "plateau", "step": 1})");
  v1::StepResponse response;
  grpc::Status status;
  absl::Notification done;
  server.stub().async()->Step(&context, &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  ASSERT_TRUE(WaitUntil([&] { return server.GetJob("plateau")->waiting_steps() == 1; }));
  context.TryCancel();
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitUntil([&] { return server.GetJob("plateau")->waiting_steps() == 0; }));
  // The job goes on as if nothing happened.
  ASSERT_THAT(server.ReportMetric("plateau", 0, 0, 1.0), IsOk());
  ASSERT_THAT(server.ReportMetric("plateau", 1, 0, 1.0), IsOk());
  EXPECT_THAT(server.Step("plateau", 0, 1), IsOk());
}

TEST(StepTest, ManyWaitingStepsHoldNoThreadsAndAllGetTheSameValue) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  constexpr int kCalls = 500;
  std::vector<grpc::ClientContext> contexts(kCalls);
  std::vector<v1::StepResponse> responses(kCalls);
  std::vector<grpc::Status> statuses(kCalls);
  v1::StepRequest request = FromJson<v1::StepRequest>(R"({"job_id": "plateau", "step": 2})");
  std::atomic<int> finished{0};
  absl::Notification all_done;
  for (int i = 0; i < kCalls; ++i) {
    server.stub().async()->Step(&contexts[i], &request, &responses[i], [&, i](grpc::Status s) {
      statuses[i] = std::move(s);
      if (++finished == kCalls) all_done.Notify();
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return server.GetJob("plateau")->waiting_steps() == kCalls; }));
  for (int step = 0; step < 2; ++step) {
    ASSERT_THAT(server.ReportMetric("plateau", 0, step, 1.0), IsOk());
    ASSERT_THAT(server.ReportMetric("plateau", 1, step, 1.0), IsOk());
  }
  all_done.WaitForNotification();
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_THAT(responses[i].values(0).lrs(), ElementsAre(0.1 * 0.1));
  }
}

}  // namespace
}  // namespace lrsched
