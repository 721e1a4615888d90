// Specs that lrsched refuses: PyTorch's own rejections are checked against
// real PyTorch in pytorch_parity_test.cc; these are the values PyTorch would
// accept by accident (NaN, infinities, negative sizes) and lrsched's own rules.
#include "service/schedule/scheduler_factory.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pytorch_trace.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::IsOk;
using ::lrsched::testing::ParseSpec;
using ::lrsched::testing::StatusIs;
using ::testing::HasSubstr;

struct BadSpec {
  std::string json;
  size_t groups;
  std::string message;  // must appear in the error

  friend void PrintTo(const BadSpec& bad, std::ostream* out) { *out << bad.json; }
};

class BadSpecTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(BadSpecTest, IsInvalidArgumentNamingTheFieldAndRule) {
  const BadSpec& bad = GetParam();
  EXPECT_THAT(MakeScheduler(ParseSpec(bad.json), bad.groups),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad.message)))
      << bad.json;
}

INSTANTIATE_TEST_SUITE_P(
    Specs, BadSpecTest,
    ::testing::Values(
        BadSpec{R"({})", 1, "spec: must set exactly one scheduler"},
        BadSpec{R"({"step_lr": {}})", 1, "spec.step_lr.step_size: must be in [1, "},
        BadSpec{R"({"step_lr": {"step_size": -3}})", 1, "step_size: must be in [1, 2^53 - 1], got -3"},
        BadSpec{R"({"step_lr": {"step_size": 2, "gamma": "NaN"}})", 1,
                "spec.step_lr.gamma: must be finite and at least 0, got nan"},
        BadSpec{R"({"step_lr": {"step_size": 2, "gamma": -0.5}})", 1, "gamma: must be finite"},
        BadSpec{R"({"step_lr": {"step_size": "9007199254740992"}})", 1, "2^53 - 1"},
        BadSpec{R"({"multi_step_lr": {"milestones": [3, -1]}})", 1,
                "spec.multi_step_lr.milestones[1]: must be in [0, 2^53 - 1], got -1"},
        BadSpec{R"({"multi_step_lr": {"milestones": [3, 3, 3], "gamma": 1e200}})", 1,
                "overflows"},
        BadSpec{R"({"exponential_lr": {}})", 1, "spec.exponential_lr.gamma: is required"},
        BadSpec{R"({"exponential_lr": {"gamma": "Infinity"}})", 1, "gamma: must be finite"},
        BadSpec{R"({"cosine_annealing_lr": {"t_max": 0}})", 1, "t_max: must be in [1, "},
        BadSpec{R"({"cosine_annealing_lr": {"t_max": 1000000000}})", 1, "t_max: must be in"},
        BadSpec{R"({"cosine_annealing_lr": {"t_max": 5, "eta_min": "NaN"}})", 1,
                "eta_min: must be finite"},
        BadSpec{R"({"cyclic_lr": {"max_lr": [0.1]}})", 1, "cyclic_lr.base_lr: is required"},
        BadSpec{R"({"cyclic_lr": {"base_lr": [0.1], "max_lr": [0.1, 0.2]}})", 3,
                "cyclic_lr.max_lr: expected 1 or 3 values (one per parameter group), got 2"},
        BadSpec{R"({"cyclic_lr": {"base_lr": [-0.1], "max_lr": [0.1]}})", 1,
                "cyclic_lr.base_lr[0]: must be finite and at least 0, got -0.1"},
        BadSpec{R"({"cyclic_lr": {"base_lr": [0.1], "max_lr": [0.2], "step_size_up": 0}})", 1,
                "step_size_up: must be finite and greater than 0"},
        BadSpec{R"({"cyclic_lr": {"base_lr": [0.1], "max_lr": [0.2], "step_size_down": -1}})",
                1, "step_size_down: must be finite and at least 0"},
        BadSpec{R"({"cyclic_lr": {"base_lr": [0.1], "max_lr": [0.2], "mode": 7}})", 1,
                "cyclic_lr.mode: unknown value 7"},
        BadSpec{R"({"cyclic_lr": {"base_lr": [0.1], "max_lr": [0.2], "max_momentum": [1.5]}})",
                1, "max_momentum[0]: must be finite and at least 0 and at most 1"},
        BadSpec{R"({"reduce_lr_on_plateau": {"factor": 1.0}})", 1, "factor: must be < 1.0"},
        BadSpec{R"({"reduce_lr_on_plateau": {"factor": -0.5}})", 1, "factor: must be finite"},
        BadSpec{R"({"reduce_lr_on_plateau": {"patience": -1}})", 1, "patience: must be in [0, "},
        BadSpec{R"({"reduce_lr_on_plateau": {"cooldown": -2}})", 1, "cooldown: must be in [0, "},
        BadSpec{R"({"reduce_lr_on_plateau": {"threshold": "NaN"}})", 1, "threshold: must be finite"},
        BadSpec{R"({"reduce_lr_on_plateau": {"eps": -1e-8}})", 1, "eps: must be finite"},
        BadSpec{R"({"reduce_lr_on_plateau": {"min_lr": [0.1, 0.2]}})", 3,
                "min_lr: expected 1 or 3 values"},
        BadSpec{R"({"reduce_lr_on_plateau": {"mode": 3}})", 1, "mode: unknown value 3"},
        BadSpec{R"({"linear_lr": {"start_factor": 0}})", 1,
                "start_factor: must be finite and greater than 0"},
        BadSpec{R"({"linear_lr": {"total_iters": -1}})", 1, "total_iters: must be in [0, "},
        BadSpec{R"({"constant_lr": {"factor": 0, "total_iters": 2}})", 1,
                "factor: must be finite and greater than 0"},
        BadSpec{R"({"polynomial_lr": {"power": -2}})", 1, "power: must be finite and at least 0"},
        BadSpec{R"({"one_cycle_lr": {"max_lr": [0.1], "epochs": 3}})", 1,
                "give total_steps, or both epochs and steps_per_epoch"},
        BadSpec{R"({"one_cycle_lr": {"max_lr": [0.1], "total_steps": 10, "div_factor": 0}})",
                1, "div_factor: must be finite and greater than 0"},
        BadSpec{R"({"one_cycle_lr": {"max_lr": [0.1], "total_steps": 10, "pct_start": 0.1}})",
                1, "zero length (PyTorch divides by zero at step 0)"},
        BadSpec{R"({"cosine_annealing_warm_restarts": {"t_0": 3, "t_mult": 0}})", 1,
                "t_mult: must be in [1, "},
        BadSpec{R"({"sequential_lr": {}})", 1, "sequential_lr.schedulers: must name at least one"},
        BadSpec{R"({"sequential_lr": {"schedulers": [{"step_lr": {"step_size": 1}},
                   {"step_lr": {"step_size": 1}}], "milestones": [0]}})",
                1, "sequential_lr.milestones[0]: must be in [1, "},
        BadSpec{R"({"sequential_lr": {"schedulers": [{"step_lr": {"step_size": 1}},
                   {"step_lr": {"step_size": 1}}, {"step_lr": {"step_size": 1}}],
                   "milestones": [5, 5]}})",
                1, "strictly increasing"},
        BadSpec{R"({"sequential_lr": {"schedulers": [{"step_lr": {"step_size": 1}},
                   {"step_lr": {"step_size": 0}}], "milestones": [4]}})",
                1, "spec.sequential_lr.schedulers[1].step_lr.step_size: must be in [1, "},
        BadSpec{R"({"sequential_lr": {"schedulers": [{"reduce_lr_on_plateau": {}},
                   {"step_lr": {"step_size": 1}}], "milestones": [4]}})",
                1, "ReduceLROnPlateau must be the last"},
        BadSpec{R"({"sequential_lr": {"schedulers": [{"reduce_lr_on_plateau": {}}]}})", 1,
                "ReduceLROnPlateau must be the last scheduler of a SequentialLR, after at least"},
        BadSpec{R"({"sequential_lr": {"schedulers": [{"sequential_lr": {"schedulers": [
                   {"step_lr": {"step_size": 1}}]}}]}})",
                1, "cannot contain another one"},
        BadSpec{R"({"chained_scheduler": {"schedulers": [
                   {"one_cycle_lr": {"max_lr": [0.1], "total_steps": 10}},
                   {"one_cycle_lr": {"max_lr": [0.1], "total_steps": 10}}]}})",
                1, "chained_scheduler.schedulers[1]: at most one OneCycleLR"}));

TEST(SchedulerFactoryTest, AcceptsPyTorchDefaults) {
  EXPECT_THAT(MakeScheduler(ParseSpec(R"({"reduce_lr_on_plateau": {}})"), 2), IsOk());
  EXPECT_THAT(MakeScheduler(ParseSpec(R"({"linear_lr": {}})"), 1), IsOk());
  EXPECT_THAT(MakeScheduler(ParseSpec(R"({"cyclic_lr": {"base_lr": [0.1], "max_lr": [1]}})"), 4),
              IsOk());
}

TEST(SchedulerFactoryTest, OneValueAppliesToEveryGroup) {
  auto scheduler = MakeScheduler(
      ParseSpec(R"({"reduce_lr_on_plateau": {"min_lr": [0.05], "patience": 0}})"), 3);
  ASSERT_THAT(scheduler, IsOk());
  ParamGroups groups{{0.1, 0.2, 0.3}, {}, {}};
  (*scheduler)->Construct(groups);
  (*scheduler)->Step(groups, 1.0);
  (*scheduler)->Step(groups, 1.0);
  EXPECT_THAT(groups.lrs, ::testing::ElementsAre(0.05, 0.05, 0.05));
}

}  // namespace
}  // namespace lrsched
