// Replay equals live, and one value per step, checked on seeded random
// histories: for every scheduler family and composite, a job is driven by
// random Steps (any rank, any look-ahead, far ahead), reports (in order,
// repeated, late, conflicting, from every rank), overrides (set and scale),
// world-size changes, reads, and sometimes its deletion. Its recorded events
// are then replayed into a fresh job, which must equal the live one: the
// same view, and the same answer to every call of a random continuation
// driven into both. Every value any answer states is checked against every
// other statement of the same step, and no Step of a rank that has not asked
// past its step is refused as out of the retained window (see
// tests/testing/job_driver.h, which the job fuzzer shares). A failure prints
// the spec and the seed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/job/job.h"
#include "tests/testing/job_driver.h"
#include "tests/testing/pytorch_trace.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::CheckReplayEqualsLive;
using ::lrsched::testing::DriverSpecs;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::ParseSpec;
using ::lrsched::testing::RandomChoices;

constexpr int kSeedsPerSpec = 250;
constexpr int kOperations = 60;

void CheckReplay(const std::string& spec_json, uint64_t seed) {
  SCOPED_TRACE(absl::StrCat("spec ", spec_json, " seed ", seed));
  std::mt19937_64 shape(seed);
  v1::JobCreated created;
  *created.mutable_spec() = ParseSpec(spec_json);
  const int groups = static_cast<int>(shape() % 2) + 1;
  for (int g = 0; g < groups; ++g) created.add_base_lrs(0.1 / (g + 1));
  if (created.spec().has_cyclic_lr() || created.spec().has_one_cycle_lr()) {
    created.clear_base_lrs();
    created.add_base_lrs(0.1);
  }
  const int max_world = 3;
  created.set_world_size(static_cast<int>(shape() % max_world) + 1);
  JobOptions options;
  options.handed_out_chunk = static_cast<int64_t>(shape() % 6) + 1;
  options.history_window = static_cast<int64_t>(shape() % 40) + 3;
  options.max_events = 1'000'000;

  RandomChoices history(seed);
  RandomChoices continuation(seed ^ 0x9e3779b97f4a7c15ULL);
  RandomChoices replayed_continuation(seed ^ 0x9e3779b97f4a7c15ULL);
  EXPECT_THAT(CheckReplayEqualsLive(created, options, max_world, kOperations, history,
                                    kOperations / 2, continuation, replayed_continuation),
              IsOk());
}

TEST(JobReplayPropertyTest, ReplayOfEveryRandomHistoryEqualsTheLiveJob) {
  const char* env = std::getenv("LRSCHED_PROPERTY_SEED");
  const uint64_t base = env != nullptr ? std::strtoull(env, nullptr, 10) : 20261201;
  std::printf("LRSCHED_PROPERTY_SEED=%llu\n", static_cast<unsigned long long>(base));
  for (const char* spec : DriverSpecs()) {
    for (int i = 0; i < kSeedsPerSpec; ++i) {
      CheckReplay(spec, base * 1000 + static_cast<uint64_t>(i));
      if (::testing::Test::HasFatalFailure() || ::testing::Test::HasNonfatalFailure()) return;
    }
  }
}

}  // namespace
}  // namespace lrsched
