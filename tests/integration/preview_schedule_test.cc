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

// The server never builds more than --max_answer_bytes: the documented
// maximum of steps is refused before any work when its answer would be
// larger, naming the limit and how many steps fit; what fits is answered.
TEST(PreviewScheduleTest, AnswersAreBoundedInBytesBeforeAnyWork) {
  ServerOptions options;
  options.max_answer_bytes = 1 << 20;
  TestServer server(options);
  const auto preview = [&](int groups, bool momentum, int64_t steps) {
    auto request = FromJson<v1::PreviewScheduleRequest>(
        momentum ? R"({"spec": {"one_cycle_lr": {"max_lr": [1.0], "total_steps": 10000000}}})"
                 : R"({"spec": {"step_lr": {"step_size": 1}}})");
    for (int g = 0; g < groups; ++g) request.add_base_lrs(0.1);
    if (momentum) {
      request.mutable_spec()->mutable_one_cycle_lr()->mutable_max_lr()->Resize(groups, 1.0);
    }
    request.set_steps(steps);
    return server.Preview(request);
  };
  const auto too_large = StatusIs(absl::StatusCode::kResourceExhausted,
                                  ::testing::AllOf(HasSubstr("--max_answer_bytes"),
                                                   HasSubstr("ask at most")));
  EXPECT_THAT(preview(1, false, 10'000'000), too_large);
  EXPECT_THAT(preview(1024, true, 100), too_large);
  // 24 bytes a step for one group: 43,690 steps fit in 1 MiB.
  auto fits = preview(1, false, 43'000);
  ASSERT_THAT(fits, IsOk());
  EXPECT_EQ(fits->values_size(), 43'001);
  EXPECT_LE(fits->ByteSizeLong(), size_t{1} << 20);
  auto wide = preview(1024, true, 60);
  ASSERT_THAT(wide, IsOk());
  EXPECT_LE(wide->ByteSizeLong(), size_t{1} << 20);
}

TEST(PreviewScheduleTest, ReportsTheMathsErrors) {
  TestServer server;
  EXPECT_THAT(server.Preview(FromJson<v1::PreviewScheduleRequest>(
                  R"({"spec": {"reduce_lr_on_plateau": {}}, "base_lrs": [0.1], "steps": 3})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metrics: step 1")));
}

}  // namespace
}  // namespace lrsched
