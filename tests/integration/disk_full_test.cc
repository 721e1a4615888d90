// A full disk never leaves a hole or a lie: with the state file on a small
// tmpfs that the test fills, every write that cannot be made answers
// UNAVAILABLE (retries included: never OK for something not durable), health
// says the store fails, the jobs come back by themselves once there is room
// again, and a restart finds every acknowledged change and no hole.
//
// Needs to mount a tmpfs (root); skipped with a message elsewhere.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/small_disk.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::lrsched::testing::TestServer;
using ::lrsched::testing::WaitUntil;

constexpr char kPlateau[] = R"({"job_id": "p", "base_lrs": [0.1], "world_size": 1,
    "spec": {"reduce_lr_on_plateau": {"patience": 1}}})";

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) GTEST_SKIP() << disk_.why();
    options_.state = (disk_.path() / "state.db").string();
    options_.store.full_sync = false;
    // Only the calls' own writes tell the store that the disk has room again:
    // a probe of its own, a second later, would make health flap.
    options_.store.probe_interval = absl::Hours(1);
  }
  void Fill(off_t slack) { disk_.Fill(slack); }
  void MakeRoom() { disk_.MakeRoom(); }

  ::lrsched::testing::SmallDisk disk_{"2m"};
  ServerOptions options_;
};

grpc::health::v1::HealthCheckResponse::ServingStatus Health(TestServer& server) {
  auto stub = grpc::health::v1::Health::NewStub(server.channel());
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  if (!stub->Check(&context, request, &response).ok()) {
    return grpc::health::v1::HealthCheckResponse::UNKNOWN;
  }
  return response.status();
}

TEST_F(DiskFullTest, WritesThatCannotBeMadeAreNeverAcknowledgedAndJobsComeBack) {
  std::vector<v1::StepValues> served;
  {
    TestServer server(options_);
    ASSERT_THAT(server.CreateJob(kPlateau), IsOk());
    for (int64_t step = 0; step < 3; ++step) {
      auto values = server.Step("p", 0, step);
      ASSERT_THAT(values, IsOk());
      served.push_back(values->values(0));
      ASSERT_THAT(server.ReportMetric("p", 0, step, 1.0), IsOk());
    }
    Fill(0);
    // Nothing can be written: not the report, not its retries, not a job.
    const auto unavailable = StatusIs(absl::StatusCode::kUnavailable, ::testing::_);
    EXPECT_THAT(server.ReportMetric("p", 0, 3, 1.0), unavailable);
    EXPECT_THAT(server.ReportMetric("p", 0, 3, 1.0), unavailable);
    v1::CreateJobRequest create = FromJson<v1::CreateJobRequest>(
        R"({"job_id": "big", "spec": {"step_lr": {"step_size": 2}}})");
    for (int g = 0; g < 1024; ++g) create.add_base_lrs(0.1 + g * 1e-6);
    EXPECT_THAT(server.CreateJob(create), unavailable);
    EXPECT_THAT(server.CreateJob(create), unavailable);
    EXPECT_EQ(Health(server), grpc::health::v1::HealthCheckResponse::NOT_SERVING);

    // Room again: the jobs come back by themselves, with nothing lost.
    MakeRoom();
    ASSERT_TRUE(WaitUntil([&] { return server.ReportMetric("p", 0, 3, 1.0).ok(); },
                          absl::Seconds(20)));
    EXPECT_THAT(server.CreateJob(create), IsOk());
    EXPECT_TRUE(WaitUntil(
        [&] { return Health(server) == grpc::health::v1::HealthCheckResponse::SERVING; },
        absl::Seconds(20)));
    auto values = server.Step("p", 0, 4);
    ASSERT_THAT(values, IsOk());
    served.push_back(server.Step("p", 0, 3)->values(0));
    served.push_back(values->values(0));
  }
  TestServer server(options_);
  EXPECT_EQ(server.server().recovered_jobs(), 2u);
  auto job = server.GetJob("p");
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(job->metric_history_size(), 4);
  for (size_t step = 0; step < served.size(); ++step) {
    auto values = server.Step("p", 0, static_cast<int64_t>(step));
    ASSERT_THAT(values, IsOk());
    EXPECT_EQ(values->values(0).SerializeAsString(), served[step].SerializeAsString());
  }
}

// Many writers of two jobs while a large creation fills the disk: whatever
// failed, no job's log has a hole, and every acknowledged override is in it.
TEST_F(DiskFullTest, ConcurrentWritersLeaveNoHoleWhenTheDiskFills) {
  std::atomic<int> acknowledged[2] = {0, 0};
  {
    TestServer server(options_);
    ASSERT_THAT(server.CreateJob(R"({"job_id": "x1", "base_lrs": [0.1],
        "spec": {"exponential_lr": {"gamma": 0.9}}})"),
                IsOk());
    ASSERT_THAT(server.CreateJob(R"({"job_id": "x2", "base_lrs": [0.1],
        "spec": {"exponential_lr": {"gamma": 0.9}}})"),
                IsOk());
    Fill(64 * 1024);
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 16; ++t) {
      writers.emplace_back([&, t] {
        const std::string job = t % 2 == 0 ? "x1" : "x2";
        while (!stop) {
          auto response = server.SetLearningRate(FromJson<v1::SetLearningRateRequest>(
              absl::StrCat(R"({"job_id": ")", job, R"(", "factor": 0.999})")));
          if (response.ok()) ++acknowledged[t % 2];
        }
      });
    }
    for (int i = 0; i < 40; ++i) {
      v1::CreateJobRequest create = FromJson<v1::CreateJobRequest>(
          R"({"spec": {"step_lr": {"step_size": 2}}})");
      create.set_job_id(absl::StrCat("filler", i));
      for (int g = 0; g < 1024; ++g) create.add_base_lrs(0.1 + g * 1e-6);
      server.CreateJob(create).IgnoreError();
    }
    stop = true;
    for (auto& writer : writers) writer.join();
    MakeRoom();
  }
  TestServer server(options_);
  for (int j = 0; j < 2; ++j) {
    auto job = server.GetJob(j == 0 ? "x1" : "x2");
    ASSERT_THAT(job, IsOk());
    EXPECT_GE(job->overrides_size(), acknowledged[j].load()) << "an acknowledged override is lost";
  }
}

}  // namespace
}  // namespace lrsched
