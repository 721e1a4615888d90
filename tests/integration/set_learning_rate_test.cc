// SetLearningRate: both modes, the step they take effect at, and the guarantee
// that no value that has left the server ever changes.
#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
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

ServerOptions SmallChunks() {
  ServerOptions options;
  options.job.handed_out_chunk = 10;
  return options;
}

TEST(SetLearningRateTest, TakesEffectAfterTheStepsHandedOutAndTheScheduleGoesOnFromIt) {
  TestServer server(SmallChunks());
  ASSERT_THAT(server.CreateJob(R"({"job_id": "e", "base_lrs": [1.0],
                                   "spec": {"exponential_lr": {"gamma": 0.5}}})"),
              IsOk());
  ASSERT_THAT(server.Step("e", 0, 0, 3), IsOk());  // hands out 0..3, reserves 0..9
  auto response = server.SetLearningRate(FromJson<v1::SetLearningRateRequest>(
      R"({"job_id": "e", "step": 2, "lrs": {"values": [0.25]}})"));
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->override().requested_step(), 2);
  EXPECT_EQ(response->override().effective_step(), 10);
  auto values = server.Step("e", 0, 9, 2);
  ASSERT_THAT(values, IsOk());
  EXPECT_THAT(values->values(0).lrs(), ElementsAre(std::ldexp(1.0, -9)));
  EXPECT_THAT(values->values(1).lrs(), ElementsAre(0.25));
  EXPECT_THAT(values->values(2).lrs(), ElementsAre(0.125));
  auto job = server.GetJob("e");
  ASSERT_EQ(job->overrides_size(), 1);
  EXPECT_EQ(job->overrides(0).effective_step(), 10);
}

// The same overrides through the server and by hand in the math, which the
// override traces check against PyTorch.
TEST(SetLearningRateTest, BothModesEqualTheScheduleOverriddenByHand) {
  TestServer server(SmallChunks());
  const char* spec = R"({"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 4}})";
  v1::CreateJobRequest create = FromJson<v1::CreateJobRequest>(R"({"job_id": "c", "base_lrs": [0.1]})");
  *create.mutable_spec() = FromJson<v1::SchedulerSpec>(spec);
  ASSERT_THAT(server.CreateJob(create), IsOk());
  auto set = server.SetLearningRate(FromJson<v1::SetLearningRateRequest>(
      R"({"job_id": "c", "step": 3, "lrs": {"values": [0.5]}})"));
  auto scale = server.SetLearningRate(FromJson<v1::SetLearningRateRequest>(
      R"({"job_id": "c", "step": 6, "mode": "SCALE_SCHEDULE", "factor": 2})"));
  ASSERT_THAT(set, IsOk());
  ASSERT_THAT(scale, IsOk());
  auto served = server.Step("c", 0, 0, 20);
  ASSERT_THAT(served, IsOk());

  auto by_hand = Schedule::Create(FromJson<v1::SchedulerSpec>(spec), {0.1});
  ASSERT_THAT(by_hand, IsOk());
  for (int t = 0; t <= 20; ++t) {
    if (t > 0) by_hand->Step();
    if (t == 3) by_hand->ApplyOverride(set->override());
    if (t == 6) by_hand->ApplyOverride(scale->override());
    ASSERT_THAT(served->values(t).lrs(), ElementsAre(by_hand->lrs()[0])) << "step " << t;
    ASSERT_THAT(served->values(t).momentums(), ElementsAre(by_hand->momentums()[0]));
  }
  // CyclicLR recomputes from its bounds: the set value lasts one step, the
  // scaled bounds last.
  EXPECT_THAT(served->values(3).lrs(), ElementsAre(0.5));
  EXPECT_NE(served->values(4).lrs(0), 0.5);
}

TEST(SetLearningRateTest, RejectsWhatCannotApply) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(R"({"job_id": "o", "base_lrs": [0.1, 0.2],
      "spec": {"one_cycle_lr": {"max_lr": [0.1], "total_steps": 10}}})"),
              IsOk());
  EXPECT_THAT(server.SetLearningRate(FromJson<v1::SetLearningRateRequest>(
                  R"({"job_id": "o", "step": 11, "factor": 0.5})")),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("ends at step 10")));
  EXPECT_THAT(server.SetLearningRate(FromJson<v1::SetLearningRateRequest>(
                  R"({"job_id": "o", "step": 1, "lrs": {"values": [0.1, 0.2, 0.3]}})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected 1 or 2 values")));
}

// Workers read ahead while an operator overrides again and again: every step
// any worker ever saw keeps its value.
TEST(SetLearningRateTest, AnOverrideRacingWithLookAheadNeverChangesAHandedOutValue) {
  TestServer server(SmallChunks());
  ASSERT_THAT(server.CreateJob(R"({"job_id": "r", "base_lrs": [0.1],
                                   "spec": {"exponential_lr": {"gamma": 0.999}}})"),
              IsOk());
  absl::Mutex mu;
  std::map<int64_t, double> seen;  // step -> lr
  std::atomic<bool> stop{false};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (int64_t step = w; step < 3000 && !stop; step += 7) {
        auto response = server.Step("r", 0, step, 13);
        ASSERT_THAT(response, IsOk());
        absl::MutexLock lock(&mu);
        for (const auto& values : response->values()) {
          auto [it, inserted] = seen.emplace(values.step(), values.lrs(0));
          if (!inserted && it->second != values.lrs(0)) ++conflicts;
        }
      }
    });
  }
  std::thread operator_thread([&] {
    for (int i = 0; i < 200; ++i) {
      v1::SetLearningRateRequest request;
      request.set_job_id("r");
      request.set_step(i * 10);
      if (i % 2 == 0) {
        request.set_factor(0.9);
      } else {
        request.set_mode(v1::SCALE_SCHEDULE);
        request.set_factor(1.05);
      }
      ASSERT_THAT(server.SetLearningRate(request), IsOk());
    }
  });
  operator_thread.join();
  stop = true;
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(conflicts.load(), 0);
  // And a fresh read of every retained step agrees with what workers saw.
  for (const auto& [step, lr] : seen) {
    auto again = server.Step("r", 0, step);
    ASSERT_THAT(again, IsOk());
    ASSERT_EQ(again->values(0).lrs(0), lr) << "step " << step;
  }
}

// A world-size change that completes an aggregation decides the next step:
// it is reserved in the same write, so that no override changes what the
// decision and the answer stated.
TEST(SetLearningRateTest, NeverChangesAStepThatASetWorldSizeDecided) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(R"({"job_id": "p", "base_lrs": [0.1], "world_size": 2,
                                   "spec": {"reduce_lr_on_plateau": {"patience": 5}}})"),
              IsOk());
  ASSERT_THAT(server.Step("p", 0, 0), IsOk());
  ASSERT_THAT(server.Step("p", 1, 0), IsOk());
  ASSERT_THAT(server.ReportMetric("p", 0, 0, 1.0), IsOk());
  auto resized = server.Call(&v1::SchedulerService::Stub::SetWorldSize,
                             FromJson<v1::SetWorldSizeRequest>(R"({"job_id": "p", "world_size": 1})"));
  ASSERT_THAT(resized, IsOk());
  ASSERT_EQ(resized->decided_step(), 1);
  ASSERT_TRUE(resized->has_latest());
  EXPECT_EQ(resized->latest().step(), 1);
  EXPECT_GE(resized->handed_out_step(), 1);
  auto override = server.SetLearningRate(FromJson<v1::SetLearningRateRequest>(
      R"({"job_id": "p", "step": 1, "factor": 0.5})"));
  ASSERT_THAT(override, IsOk());
  EXPECT_EQ(override->override().effective_step(), 2);
  auto step = server.Step("p", 0, 1);
  ASSERT_THAT(step, IsOk());
  EXPECT_EQ(step->values(0).lrs(0), resized->latest().lrs(0));
  auto job = server.GetJob("p");
  ASSERT_THAT(job, IsOk());
  ASSERT_EQ(job->metric_history_size(), 1);
  EXPECT_EQ(job->metric_history(0).lrs(0), step->values(0).lrs(0));
}

}  // namespace
}  // namespace lrsched
