// Every checked-in PyTorch trace, recomputed by lrsched and compared bit for
// bit: the learning rate and momentum of every step and parameter group, up
// to the step before any that PyTorch computes as inf or NaN (where lrsched
// ends the schedule instead).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/schedule/preview.h"
#include "service/schedule/schedule.h"
#include "tests/testing/pytorch_trace.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::DecodeValues;
using ::lrsched::testing::FirstDifference;
using ::lrsched::testing::LoadManifest;
using ::lrsched::testing::LoadTraceFile;
using ::lrsched::testing::ManifestEntry;
using ::lrsched::testing::TraceCase;
using ::lrsched::testing::TraceFamilies;
using ::testing::IsEmpty;

ManifestEntry ManifestEntryFor(const std::string& file_name) {
  auto manifest = LoadManifest();
  EXPECT_THAT(manifest, testing::IsOk());
  if (!manifest.ok()) return {};
  for (const ManifestEntry& entry : *manifest) {
    if (entry.file_name == file_name) return entry;
  }
  ADD_FAILURE() << file_name << " is not in manifest.json";
  return {};
}

// PyTorch raised at step() call `last_step + 1`: lrsched's schedule ends at
// `last_step`, and the step after it is OUT_OF_RANGE.
void ExpectEndsAt(const TraceCase& trace, int64_t last_step) {
  auto schedule = Schedule::Create(trace.spec(), trace.base_lrs());
  ASSERT_THAT(schedule, testing::IsOk());
  EXPECT_EQ(schedule->last_step(), last_step);
  EXPECT_THAT(Preview(trace.spec(), trace.base_lrs(), last_step + 1, {}),
              testing::StatusIs(absl::StatusCode::kOutOfRange, ::testing::HasSubstr("ends")));
}

// The first step with a value that is not finite; past the end if none.
int64_t FirstNonFiniteStep(const std::vector<double>& values, size_t groups) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) return static_cast<int64_t>(i / groups);
  }
  return std::numeric_limits<int64_t>::max();
}

class PyTorchParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PyTorchParityTest, EveryValueEqualsPyTorchBitForBit) {
  const std::string file_name = GetParam() + ".jsonl.gz";
  auto cases = LoadTraceFile(file_name);
  ASSERT_THAT(cases, testing::IsOk());
  int64_t compared = 0;
  for (const TraceCase& trace : *cases) {
    SCOPED_TRACE(absl::StrCat(GetParam(), "/", trace.name()));
    auto expected_lrs = DecodeValues(trace.lrs());
    auto expected_momentums = DecodeValues(trace.momentums());
    ASSERT_THAT(expected_lrs, testing::IsOk());
    ASSERT_THAT(expected_momentums, testing::IsOk());
    if (trace.phase() == "step") {
      // PyTorch ends the schedule by raising at the step after these.
      EXPECT_EQ(trace.error_step(), trace.steps() + 1);
      ExpectEndsAt(trace, trace.steps());
    }
    const size_t groups = trace.base_lrs_size();
    compared += expected_lrs->size() + expected_momentums->size();
    // Where PyTorch overflows to inf or NaN, lrsched deliberately ends the
    // schedule at the step before (Schedule::Step): equal up to there.
    const int64_t non_finite = std::min(FirstNonFiniteStep(*expected_lrs, groups),
                                        FirstNonFiniteStep(*expected_momentums, groups));
    int64_t steps = trace.steps();
    if (non_finite <= steps) {
      ASSERT_GT(non_finite, 0);
      EXPECT_THAT(Preview(trace.spec(), trace.base_lrs(), non_finite, trace.metrics()),
                  testing::StatusIs(absl::StatusCode::kOutOfRange,
                                    ::testing::HasSubstr(absl::StrCat(
                                        "ends at step ", non_finite - 1))));
      steps = non_finite - 1;
      expected_lrs->resize(non_finite * groups);
      if (!expected_momentums->empty()) expected_momentums->resize(non_finite * groups);
    }
    auto preview = Preview(trace.spec(), trace.base_lrs(), steps,
                           absl::MakeConstSpan(trace.metrics()).subspan(
                               0, std::min<size_t>(trace.metrics_size(), steps)));
    ASSERT_THAT(preview, testing::IsOk());
    EXPECT_THAT(FirstDifference(*expected_lrs, preview->lrs, groups, "lr"), IsEmpty());
    EXPECT_THAT(FirstDifference(*expected_momentums, preview->momentums, groups, "momentum"),
                IsEmpty());
  }
  const ManifestEntry entry = ManifestEntryFor(file_name);
  EXPECT_EQ(static_cast<int64_t>(cases->size()), entry.cases);
  EXPECT_EQ(compared, entry.values);
  EXPECT_GE(cases->size(), 30u) << "each scheduler needs at least 30 PyTorch cases";
}

INSTANTIATE_TEST_SUITE_P(AllSchedulers, PyTorchParityTest, ::testing::ValuesIn(TraceFamilies()),
                         [](const auto& param_info) { return param_info.param; });

TEST(PyTorchParityCoverageTest, TracesHoldAtLeastAMillionValues) {
  auto manifest = LoadManifest();
  ASSERT_THAT(manifest, testing::IsOk());
  int64_t values = 0;
  for (const ManifestEntry& entry : *manifest) values += entry.values;
  // Each family's test checks that it compared exactly its manifest count.
  EXPECT_GE(values, 1'000'000);
  EXPECT_EQ(manifest->size(), TraceFamilies().size() + 2)
      << "the families, overrides.jsonl.gz and invalid.jsonl.gz";
}

TEST(PyTorchParityCoverageTest, TracesComeFromARealPyTorch) {
  auto version = testing::TorchVersion();
  ASSERT_THAT(version, testing::IsOk());
  EXPECT_THAT(*version, ::testing::StartsWith("1.13"));
}

// An operator override equals a PyTorch user setting param_groups[g]['lr']
// (SET_LEARNING_RATE) or the scheduler's base, peak and floor values
// (SCALE_SCHEDULE) by hand after the step() that produced the override's step.
TEST(PyTorchOverrideParityTest, OverridesEqualPyTorchDoneByHand) {
  auto cases = LoadTraceFile("overrides.jsonl.gz");
  ASSERT_THAT(cases, testing::IsOk());
  ASSERT_GE(cases->size(), 30u);
  int64_t compared = 0;
  for (const TraceCase& trace : *cases) {
    SCOPED_TRACE(trace.name());
    auto schedule = Schedule::Create(trace.spec(), trace.base_lrs());
    ASSERT_THAT(schedule, testing::IsOk());
    std::vector<double> lrs, momentums;
    auto override_it = trace.overrides().begin();
    while (true) {
      if (override_it != trace.overrides().end() &&
          override_it->effective_step() == schedule->step()) {
        schedule->ApplyOverride(*override_it++);
      }
      lrs.insert(lrs.end(), schedule->lrs().begin(), schedule->lrs().end());
      momentums.insert(momentums.end(), schedule->momentums().begin(),
                       schedule->momentums().end());
      if (schedule->step() == trace.steps()) break;
      schedule->Step(schedule->next_step_takes_metric() ? trace.metrics(schedule->step()) : 0);
    }
    auto expected_lrs = DecodeValues(trace.lrs());
    auto expected_momentums = DecodeValues(trace.momentums());
    ASSERT_THAT(expected_lrs, testing::IsOk());
    ASSERT_THAT(expected_momentums, testing::IsOk());
    EXPECT_THAT(FirstDifference(*expected_lrs, lrs, trace.base_lrs_size(), "lr"), IsEmpty());
    EXPECT_THAT(FirstDifference(*expected_momentums, momentums, trace.base_lrs_size(), "momentum"),
                IsEmpty());
    compared += lrs.size() + momentums.size();
  }
  EXPECT_EQ(compared, ManifestEntryFor("overrides.jsonl.gz").values);
}

// PyTorch raises for these, at construction or at a later step; lrsched
// refuses the spec, or ends the schedule at the step before the one that
// raised.
TEST(PyTorchRejectsTest, LrschedRejectsWhatPyTorchRejects) {
  auto cases = LoadTraceFile("invalid.jsonl.gz");
  ASSERT_THAT(cases, testing::IsOk());
  ASSERT_GE(cases->size(), 30u);
  for (const TraceCase& trace : *cases) {
    SCOPED_TRACE(absl::StrCat(trace.name(), ": PyTorch said ", trace.error()));
    auto schedule = Schedule::Create(trace.spec(), trace.base_lrs());
    if (trace.phase() == "construct" || !schedule.ok()) {
      EXPECT_THAT(schedule, testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                              ::testing::Not(IsEmpty())));
      continue;
    }
    ASSERT_EQ(trace.phase(), "step");
    ExpectEndsAt(trace, trace.error_step() - 1);
  }
}

}  // namespace
}  // namespace lrsched
