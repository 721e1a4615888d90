#include "service/schedule/preview.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pytorch_trace.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::IsOk;
using ::lrsched::testing::ParseSpec;
using ::lrsched::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PreviewTest, GivesStepsPlusOneValuesPerGroup) {
  auto preview = Preview(ParseSpec(R"({"step_lr": {"step_size": 2, "gamma": 0.5}})"),
                         {1.0, 2.0}, 4, {});
  ASSERT_THAT(preview, IsOk());
  EXPECT_EQ(preview->num_groups, 2u);
  EXPECT_THAT(preview->lrs, ElementsAre(1, 2, 1, 2, 0.5, 1, 0.5, 1, 0.25, 0.5));
  EXPECT_TRUE(preview->momentums.empty());
}

TEST(PreviewTest, MetricOfStepTDecidesStepTPlusOne) {
  // patience 0: the second non-improving metric reduces.
  auto preview = Preview(ParseSpec(R"({"reduce_lr_on_plateau": {"patience": 0, "factor": 0.5}})"),
                         {1.0}, 3, {1.0, 2.0, 0.5});
  ASSERT_THAT(preview, IsOk());
  EXPECT_THAT(preview->lrs, ElementsAre(1.0, 1.0, 0.5, 0.5));
}

TEST(PreviewTest, NaNMetricIsNeverAnImprovement) {
  auto preview = Preview(ParseSpec(R"({"reduce_lr_on_plateau": {"patience": 0, "factor": 0.5}})"),
                         {1.0}, 2, {std::nan(""), std::nan("")});
  ASSERT_THAT(preview, IsOk());
  EXPECT_THAT(preview->lrs, ElementsAre(1.0, 0.5, 0.25));
}

TEST(PreviewTest, RejectsStepsOutsideTheCap) {
  const auto spec = ParseSpec(R"({"exponential_lr": {"gamma": 0.9}})");
  EXPECT_THAT(Preview(spec, {0.1}, -1, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("steps: must be in [0, 10000000]")));
  EXPECT_THAT(Preview(spec, {0.1}, kMaxPreviewSteps + 1, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got 10000001")));
}

TEST(PreviewTest, StepsPastTheScheduleEndAreOutOfRange) {
  EXPECT_THAT(Preview(ParseSpec(R"({"one_cycle_lr": {"max_lr": [0.1], "total_steps": 10}})"),
                      {0.1}, 11, {}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("ends at step 10, got 11")));
}

TEST(PreviewTest, RejectsMetricsForAScheduleWithoutMetrics) {
  EXPECT_THAT(Preview(ParseSpec(R"({"exponential_lr": {"gamma": 0.9}})"), {0.1}, 2, {1.0}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("metrics: the schedule takes no metric")));
}

TEST(PreviewTest, NamesTheFirstStepWithoutItsMetric) {
  EXPECT_THAT(Preview(ParseSpec(R"({"reduce_lr_on_plateau": {}})"), {0.1}, 5, {1.0, 1.0}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("step 3 is decided by the metric of step 2, but only 2")));
}

TEST(PreviewTest, RejectsMoreMetricsThanSteps) {
  EXPECT_THAT(Preview(ParseSpec(R"({"reduce_lr_on_plateau": {}})"), {0.1}, 1, {1.0, 1.0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 values for 1 steps")));
}

TEST(PreviewTest, ReportsBadSpecs) {
  EXPECT_THAT(Preview(ParseSpec(R"({"step_lr": {}})"), {0.1}, 1, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("step_lr.step_size")));
}

}  // namespace
}  // namespace lrsched
