// PreviewSchedule over the wire equals the math, and refuses what it cannot do.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/schedule/preview.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::lrsched::testing::TestServer;
using ::testing::HasSubstr;

TEST(PreviewScheduleTest, GivesStepsPlusOneValuesEqualToTheMath) {
  TestServer server;
  const auto request = FromJson<v1::PreviewScheduleRequest>(R"({
      "spec": {"reduce_lr_on_plateau": {"patience": 1, "min_lr": [0.001, 0.002]}},
      "base_lrs": [0.1, 0.2], "steps": 5, "metrics": [1, 1, 1, 1, 1]})");
  auto response = server.Preview(request);
  ASSERT_THAT(response, IsOk());
  auto local = Preview(request.spec(), request.base_lrs(), 5, request.metrics());
  ASSERT_THAT(local, IsOk());
  ASSERT_EQ(response->values_size(), 6);
  for (int t = 0; t <= 5; ++t) {
    EXPECT_EQ(response->values(t).step(), t);
    EXPECT_EQ(response->values(t).lrs(0), local->lrs[2 * t]);
    EXPECT_EQ(response->values(t).lrs(1), local->lrs[2 * t + 1]);
  }
}

TEST(PreviewScheduleTest, RefusesMoreThanTenMillionSteps) {
  TestServer server;
  EXPECT_THAT(server.Preview(FromJson<v1::PreviewScheduleRequest>(
                  R"({"spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1],
                      "steps": 10000001})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("steps: must be in [0, 10000000], got 10000001")));
}

TEST(PreviewScheduleTest, ReportsTheMathsErrors) {
  TestServer server;
  EXPECT_THAT(server.Preview(FromJson<v1::PreviewScheduleRequest>(
                  R"({"spec": {"reduce_lr_on_plateau": {}}, "base_lrs": [0.1], "steps": 3})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metrics: step 1")));
}

}  // namespace
}  // namespace lrsched
