#include "service/schedule/schedule.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

// As after param_groups[g]['lr'] = x in PyTorch: a recursive scheduler goes on
// from x with its usual rule.
v1::Override SetTo(double lr) {
  v1::Override override;
  override.mutable_lrs()->add_values(lr);
  return override;
}

TEST(ScheduleTest, SettingTheRateContinuesWithTheUsualRule) {
  auto schedule = Schedule::Create(ParseSpec(R"({"exponential_lr": {"gamma": 0.5}})"), {1.0});
  ASSERT_THAT(schedule, IsOk());
  schedule->Step();
  schedule->ApplyOverride(SetTo(0.25));
  schedule->Step();
  EXPECT_THAT(schedule->lrs(), ElementsAre(0.125));
}

// CyclicLR recomputes from its bounds, so a value set by hand lasts one step.
TEST(ScheduleTest, ASetRateLastsOneStepForCyclicLR) {
  auto schedule = Schedule::Create(
      ParseSpec(R"({"cyclic_lr": {"base_lr": [0.1], "max_lr": [0.5], "step_size_up": 4}})"),
      {1.0});
  ASSERT_THAT(schedule, IsOk());
  schedule->ApplyOverride(SetTo(7.0));
  EXPECT_THAT(schedule->lrs(), ElementsAre(7.0));
  schedule->Step();
  EXPECT_THAT(schedule->lrs(), ElementsAre(0.1 + (0.5 - 0.1) * 0.25));
}

TEST(ScheduleTest, OneCycleLREndsAtTotalSteps) {
  auto schedule = Schedule::Create(
      ParseSpec(R"({"one_cycle_lr": {"max_lr": [0.1], "total_steps": 50}})"), {0.1});
  ASSERT_THAT(schedule, IsOk());
  EXPECT_EQ(schedule->last_step(), 50);
  EXPECT_TRUE(schedule->cycles_momentum());
  EXPECT_FALSE(schedule->takes_metric());
}

// PyTorch divides by zero at total_steps when the last phase has zero length,
// and at step 0 (in its constructor) when the first one has.
TEST(ScheduleTest, OneCycleLRWarmingUpForTheWholeRunEndsBeforeTotalSteps) {
  const auto warm_up_only = [](const std::string& fields) {
    return Schedule::Create(
        ParseSpec(
            absl::StrCat(R"({"one_cycle_lr": {"max_lr": [0.1], "pct_start": 1, )", fields, "}}")),
        {0.1});
  };
  auto two_phases = warm_up_only(R"("total_steps": 50)");
  ASSERT_THAT(two_phases, IsOk());
  EXPECT_EQ(two_phases->last_step(), 49);
  auto three_phases = warm_up_only(R"("total_steps": 50, "three_phase": true)");
  ASSERT_THAT(three_phases, IsOk());
  EXPECT_EQ(three_phases->last_step(), 50);
  EXPECT_THAT(warm_up_only(R"("total_steps": 1)"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at step 0")));
}

TEST(ScheduleTest, WarmupThenPlateauTakesMetricsOnlyFromTheLastMilestone) {
  auto schedule = Schedule::Create(
      ParseSpec(R"({"sequential_lr": {"schedulers": [{"linear_lr": {"total_iters": 3}},
                   {"reduce_lr_on_plateau": {}}], "milestones": [3]}})"),
      {0.1});
  ASSERT_THAT(schedule, IsOk());
  EXPECT_TRUE(schedule->takes_metric());
  std::vector<bool> takes;
  for (int t = 0; t < 5; ++t) {
    takes.push_back(schedule->next_step_takes_metric());
    schedule->Step(1.0);
  }
  // Steps 1..3 belong to the warm-up; the metric of step 3 decides step 4.
  EXPECT_THAT(takes, ElementsAre(false, false, false, true, true));
  EXPECT_EQ(schedule->lrs()[0], 0.1 * (1.0 / 3) * (1. + (1.0 - 1.0 / 3) / (3 * (1.0 / 3))) *
                                    (1. + (1.0 - 1.0 / 3) / (3 * (1.0 / 3) + 1 * (1.0 - 1.0 / 3))) *
                                    (1. + (1.0 - 1.0 / 3) / (3 * (1.0 / 3) + 2 * (1.0 - 1.0 / 3))));
}

TEST(ScheduleTest, RejectsBadBaseLrs) {
  const auto spec = ParseSpec(R"({"step_lr": {"step_size": 2}})");
  EXPECT_THAT(Schedule::Create(spec, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("base_lrs: expected 1 to")));
  EXPECT_THAT(Schedule::Create(spec, {0.1, -0.1}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("base_lrs[1]: must be finite and at least 0, got -0.1")));
  EXPECT_THAT(Schedule::Create(spec, std::vector<double>(kMaxParamGroups + 1, 0.1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got 1025")));
}

// PyTorch trains on inf silently; the schedule ends at the step before, with
// the values of that step untouched, whatever makes the values overflow.
TEST(ScheduleTest, EndsAtTheStepBeforeOneWhoseValuesWouldNotBeFinite) {
  struct Case {
    const char* spec;
    int64_t last;
  };
  for (const Case& c : {Case{R"({"exponential_lr": {"gamma": 1e300}})", 1},
                        Case{R"({"step_lr": {"step_size": 1, "gamma": 1e308}})", 1},
                        Case{R"({"linear_lr": {"start_factor": 1e-320, "total_iters": 4}})", 0}}) {
    auto schedule = Schedule::Create(ParseSpec(c.spec), {0.1, 0.2});
    ASSERT_THAT(schedule, IsOk()) << c.spec;
    std::vector<double> last_values;
    while (schedule->Step()) last_values = schedule->lrs();
    EXPECT_EQ(schedule->step(), c.last) << c.spec;
    EXPECT_EQ(schedule->last_step(), c.last) << c.spec;
    EXPECT_TRUE(schedule->ended());
    EXPECT_THAT(schedule->end_reason(),
                HasSubstr(absl::StrCat("step ", c.last + 1, " would give group 0 a learning rate of inf")))
        << c.spec;
    if (c.last > 0) {
      EXPECT_EQ(schedule->lrs(), last_values) << c.spec;
    }
    for (double lr : schedule->lrs()) EXPECT_TRUE(std::isfinite(lr)) << c.spec;
    EXPECT_FALSE(schedule->Step()) << "an ended schedule stays ended";
    EXPECT_EQ(schedule->step(), c.last);
  }
}

TEST(ScheduleTest, AnOverrideOfTheNextStepThatOverflowsEndsTheSchedule) {
  auto schedule = Schedule::Create(ParseSpec(R"({"constant_lr": {"factor": 1.0}})"), {0.1});
  ASSERT_THAT(schedule, IsOk());
  v1::Override times;
  times.set_factor(1e308);
  EXPECT_THAT(schedule->CheckOverride(times), IsOk());  // 1e307
  schedule->ApplyOverride(times);
  EXPECT_THAT(schedule->CheckOverride(times),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("group 0")));
  const std::vector<v1::Override> next = {times};
  EXPECT_FALSE(schedule->Step(0, next));
  EXPECT_EQ(schedule->last_step(), 0);
  EXPECT_THAT(schedule->end_reason(), HasSubstr("after its overrides"));
  EXPECT_THAT(schedule->lrs(), ElementsAre(0.1 * 1e308));
}

}  // namespace
}  // namespace lrsched
