// No learning rate or momentum that is not finite ever leaves the server:
// what can be known up front is refused, and a schedule whose own formula
// (or an override of a step not computed yet) would overflow ends at the step
// before, with a message, on a live server as after a restart.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_directory.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::lrsched::testing::TestServer;
using ::testing::AllOf;
using ::testing::HasSubstr;

class NonFiniteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.state = directory_.File("state.db");
    options_.job.handed_out_chunk = 4;
  }

  ::lrsched::testing::TempDirectory directory_;
  ServerOptions options_;
};

TEST_F(NonFiniteTest, ASchedulesOwnOverflowEndsItAtTheStepBeforeAcrossARestart) {
  const auto ended = [](int64_t last, int64_t asked) {
    return StatusIs(absl::StatusCode::kOutOfRange,
                    AllOf(HasSubstr(absl::StrCat("ends at step ", last, ", got ", asked)),
                          HasSubstr("learning rate of inf")));
  };
  double step1 = 0;
  {
    TestServer server(options_);
    ASSERT_THAT(server.CreateJob(R"({"job_id": "exp", "base_lrs": [0.1],
        "spec": {"exponential_lr": {"gamma": 1e300}}})"),
                IsOk());
    ASSERT_THAT(server.CreateJob(R"({"job_id": "lin", "base_lrs": [0.1],
        "spec": {"linear_lr": {"start_factor": 1e-320, "total_iters": 4}}})"),
                IsOk());
    // A look-ahead that runs into the end gets the steps before it.
    auto values = server.Step("exp", 0, 0, /*look_ahead=*/10);
    ASSERT_THAT(values, IsOk());
    ASSERT_EQ(values->values_size(), 2);
    step1 = values->values(1).lrs(0);
    EXPECT_EQ(step1, 0.1 * 1e300);
    EXPECT_THAT(server.Step("exp", 0, 2), ended(1, 2));
    EXPECT_THAT(server.Step("exp", 0, 7), ended(1, 7));
    EXPECT_THAT(server.Step("lin", 0, 1), ended(0, 1));
    EXPECT_THAT(server.Step("lin", 0, 0), IsOk());
    EXPECT_THAT(server.Preview(FromJson<v1::PreviewScheduleRequest>(R"({"base_lrs": [0.1],
        "spec": {"exponential_lr": {"gamma": 1e300}}, "steps": 5})")),
                StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("learning rate of inf")));
  }
  TestServer server(options_);
  EXPECT_EQ(server.server().recovered_jobs(), 2u);
  auto values = server.Step("exp", 0, 1);
  ASSERT_THAT(values, IsOk());
  EXPECT_EQ(values->values(0).lrs(0), step1);
  EXPECT_THAT(server.Step("exp", 0, 2), ended(1, 2));
  EXPECT_THAT(server.Step("lin", 0, 1), ended(0, 1));
}

TEST_F(NonFiniteTest, OverridesThatOverflowAreRefusedOrEndTheSchedule) {
  TestServer server(options_);
  ASSERT_THAT(server.CreateJob(R"({"job_id": "c", "base_lrs": [0.1],
      "spec": {"constant_lr": {"factor": 1.0}}})"),
              IsOk());
  const auto times = [](int64_t step) {
    return FromJson<v1::SetLearningRateRequest>(
        absl::StrCat(R"({"job_id": "c", "factor": 1e308, "step": )", step, "}"));
  };
  // At the step the schedule stands at, the result is known: refused.
  ASSERT_THAT(server.SetLearningRate(times(0)), IsOk());
  EXPECT_THAT(server.SetLearningRate(times(0)),
              StatusIs(absl::StatusCode::kOutOfRange,
                       AllOf(HasSubstr("factor"), HasSubstr("must stay finite"))));
  // At a step not computed yet, it is known when that step is: the schedule
  // ends before it.
  ASSERT_THAT(server.SetLearningRate(times(6)), IsOk());
  ASSERT_THAT(server.SetLearningRate(times(6)), IsOk());
  auto values = server.Step("c", 0, 0, /*look_ahead=*/10);
  ASSERT_THAT(values, IsOk());
  EXPECT_EQ(values->values_size(), 6);
  for (const auto& step : values->values()) EXPECT_TRUE(std::isfinite(step.lrs(0)));
  EXPECT_THAT(server.Step("c", 0, 6),
              StatusIs(absl::StatusCode::kOutOfRange,
                       AllOf(HasSubstr("ends at step 5"), HasSubstr("after its overrides"))));
}

TEST_F(NonFiniteTest, ReportWeightsThatSumToInfinityAreRefused) {
  TestServer server(options_);
  ASSERT_THAT(server.CreateJob(R"({"job_id": "p", "base_lrs": [0.1], "world_size": 3,
      "spec": {"reduce_lr_on_plateau": {}}})"),
              IsOk());
  ASSERT_THAT(server.ReportMetric("p", 0, 0, 1.0, /*weight=*/1e308), IsOk());
  EXPECT_THAT(server.ReportMetric("p", 1, 0, 1.0, /*weight=*/1e308),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("weight"), HasSubstr("sum to a finite number"))));
  ASSERT_THAT(server.ReportMetric("p", 1, 0, 1.0, /*weight=*/1), IsOk());
  auto last = server.ReportMetric("p", 2, 0, 1.0, /*weight=*/1);
  ASSERT_THAT(last, IsOk());
  ASSERT_TRUE(last->aggregated());
  EXPECT_EQ(last->decision().value(), 1.0);
}

}  // namespace
}  // namespace lrsched
