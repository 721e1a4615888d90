// Replay equals live, and one value per step, checked on seeded random
// histories: for every scheduler family and composite, a job is driven by
// random Steps (any rank, any look-ahead, far ahead), reports (in order,
// repeated, late, conflicting, from every rank), overrides (set and scale),
// world-size changes, reads, and sometimes its deletion. Its recorded events
// are then replayed into a fresh job, which must equal the live one: the
// same view, and the same answer to every call of a random continuation
// driven into both. Every value any answer states is checked against every
// other statement of the same step. A failure prints the spec and the seed.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "service/job/job.h"
#include "tests/testing/pytorch_trace.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::IsOk;
using ::lrsched::testing::ParseSpec;

// One spec of every family and composite the service offers.
const char* const kSpecs[] = {
    R"({"step_lr": {"step_size": 3, "gamma": 0.5}})",
    R"({"multi_step_lr": {"milestones": [2, 5, 9], "gamma": 0.3}})",
    R"({"exponential_lr": {"gamma": 0.9}})",
    R"({"cosine_annealing_lr": {"t_max": 7, "eta_min": 0.001}})",
    R"({"cosine_annealing_warm_restarts": {"t_0": 3, "t_mult": 2, "eta_min": 0.001}})",
    R"({"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 3, "mode": "TRIANGULAR2"}})",
    R"({"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 2, "mode": "EXP_RANGE", "gamma": 0.9}})",
    R"({"linear_lr": {"start_factor": 0.2, "total_iters": 4}})",
    R"({"constant_lr": {"factor": 0.5, "total_iters": 3}})",
    R"({"polynomial_lr": {"total_iters": 6, "power": 2}})",
    R"({"one_cycle_lr": {"max_lr": [0.5], "total_steps": 40, "three_phase": true}})",
    R"({"reduce_lr_on_plateau": {"patience": 1, "factor": 0.5, "cooldown": 1}})",
    R"({"reduce_lr_on_plateau": {"mode": "MAX", "patience": 0, "threshold_mode": "ABS", "min_lr": [0.01]}})",
    R"({"sequential_lr": {"schedulers": [{"linear_lr": {"start_factor": 0.1, "total_iters": 3}},
        {"reduce_lr_on_plateau": {"patience": 1}}], "milestones": [3]}})",
    R"({"sequential_lr": {"schedulers": [{"constant_lr": {"factor": 0.5, "total_iters": 2}},
        {"cosine_annealing_lr": {"t_max": 5}}], "milestones": [2]}})",
    R"({"chained_scheduler": {"schedulers": [{"constant_lr": {"factor": 0.5, "total_iters": 4}},
        {"exponential_lr": {"gamma": 0.9}}]}})",
};
constexpr int kSeedsPerSpec = 250;
constexpr int kOperations = 60;

// Bytes of a message: equal bytes are equal bits, NaN included.
std::string Bytes(const google::protobuf::Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

std::vector<uint64_t> Bits(const std::vector<double>& values) {
  std::vector<uint64_t> bits(values.size());
  if (!values.empty()) std::memcpy(bits.data(), values.data(), values.size() * sizeof(double));
  return bits;
}

// Every value any answer stated, by step; a second, different value fails.
class StatedValues {
 public:
  void Lrs(int64_t step, const google::protobuf::RepeatedField<double>& lrs,
           const std::string& where) {
    Check(lrs_, step, std::vector<double>(lrs.begin(), lrs.end()), where);
  }
  void Values(const v1::StepValues& values, const std::string& where) {
    Lrs(values.step(), values.lrs(), where);
    Check(momentums_, values.step(),
          std::vector<double>(values.momentums().begin(), values.momentums().end()), where);
  }

 private:
  using Seen = std::map<int64_t, std::pair<std::vector<double>, std::string>>;
  static void Check(Seen& seen, int64_t step, const std::vector<double>& values,
                    const std::string& where) {
    auto [it, added] = seen.emplace(step, std::make_pair(values, where));
    if (added) return;
    // Decisions state learning rates only.
    if (values.empty() || it->second.first.empty()) return;
    EXPECT_EQ(Bits(it->second.first), Bits(values)) << "step " << step << " was stated as " << ::testing::PrintToString(
                                                                    it->second.first)
                    << " by " << it->second.second << " and as "
                    << ::testing::PrintToString(values) << " by " << where;
  }
  Seen lrs_;
  Seen momentums_;
};

// Drives one job with random calls; the same seed drives the same calls.
class Driver {
 public:
  Driver(uint64_t seed, int max_world) : random_(seed), max_world_(max_world) {}

  // Runs one random call on `job` and returns a record of its answer.
  std::string Operate(Job& job, StatedValues& stated) {
    v1::Job view;
    job.ToProto(v1::JOB_VIEW_FULL, &view);
    // Metric-free schedules decide every step: stay near the handed-out one.
    const int64_t decided = std::min<int64_t>(view.decided_step(),
                                              std::max<int64_t>(view.handed_out_step(), 0) + 8);
    const int world = view.world_size();
    const int op = Pick(0, 99);
    std::string record;
    if (op < 40) {
      v1::StepRequest request;
      request.set_rank(Pick(0, world - 1));
      request.set_step(std::max<int64_t>(0, Pick(view.first_retained_step() - 1, decided + 2)));
      if (Pick(0, 9) == 0) request.set_step(decided + Pick(0, 200));
      request.set_look_ahead(Pick(0, 3) == 0 ? Pick(0, 30) : 0);
      v1::StepResponse response;
      absl::Status answered = absl::UnknownError("not answered");
      const auto outcome = job.Step(
          request, &response, [&answered](absl::Status status) { answered = status; }, nullptr);
      if (outcome == Job::StepOutcome::kAnswered && answered.ok()) {
        for (const auto& values : response.values()) stated.Values(values, "Step");
      }
      record = absl::StrCat("step ", request.ShortDebugString(), " -> ",
                            static_cast<int>(outcome), " ", answered.ToString(), " ",
                            response.ShortDebugString());
    } else if (op < 75) {
      v1::ReportMetricRequest request;
      request.set_rank(Pick(0, world - 1));
      request.set_step(std::max<int64_t>(0, decided - Pick(0, 2)));
      static const double kValues[] = {1.0, 0.9, 0.5, 2.0, 1.0, NAN};
      request.set_value(kValues[Pick(0, 5)]);
      if (Pick(0, 3) == 0) request.set_weight(Pick(1, 4));
      v1::ReportMetricResponse response;
      absl::Status answered = absl::UnknownError("not answered");
      job.ReportMetric(request, &response,
                       [&answered](absl::Status status) { answered = status; });
      if (answered.ok() && response.has_decision()) {
        stated.Lrs(response.decision().step() + 1, response.decision().lrs(), "ReportMetric");
      }
      record = absl::StrCat("report ", request.ShortDebugString(), " -> ",
                            answered.ToString(), " ", response.ShortDebugString());
    } else if (op < 85) {
      v1::SetLearningRateRequest request;
      request.set_step(std::max<int64_t>(0, decided - 2 + Pick(0, 6)));
      switch (Pick(0, 2)) {
        case 0:
          request.mutable_lrs()->add_values(0.001 * Pick(1, 100));
          break;
        case 1:
          request.set_factor(0.25 * Pick(1, 6));
          break;
        default:
          request.set_mode(v1::SCALE_SCHEDULE);
          request.set_factor(0.25 * Pick(1, 6));
      }
      v1::Override override;
      absl::Status answered = absl::UnknownError("not answered");
      job.SetLearningRate(request, &override,
                          [&answered](absl::Status status) { answered = status; });
      record = absl::StrCat("override ", request.ShortDebugString(), " -> ",
                            answered.ToString(), " ", override.ShortDebugString());
    } else if (op < 92) {
      const int32_t world_size = Pick(1, max_world_);
      absl::Status answered = absl::UnknownError("not answered");
      job.SetWorldSize(world_size, [&answered](absl::Status status) { answered = status; });
      record = absl::StrCat("world ", world_size, " -> ", answered.ToString());
    } else {
      // Readers: GetJob states the latest values and the decisions.
      if (view.has_latest()) stated.Values(view.latest(), "GetJob latest");
      for (const auto& decision : view.metric_history()) {
        stated.Lrs(decision.step() + 1, decision.lrs(), "GetJob history");
      }
      // Events emitted in the continuation differ in their times, and so in
      // their sizes.
      view.clear_stored_bytes();
      record = absl::StrCat("view ", view.ShortDebugString());
    }
    return record;
  }

  int64_t Pick(int64_t low, int64_t high) {
    if (high < low) return low;
    return std::uniform_int_distribution<int64_t>(low, high)(random_);
  }

 private:
  std::mt19937_64 random_;
  const int max_world_;
};

std::vector<v1::JobEvent> AllEvents(const Job& job) {
  std::vector<v1::JobEvent> events;
  bool ended = false;
  EXPECT_THAT(job.ReadEvents(1, 1'000'000, &events, &ended), IsOk());
  return events;
}

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
  auto live = Job::Create("job", created, absl::FromUnixSeconds(1'700'000'000), options,
                          /*store=*/nullptr);
  ASSERT_THAT(live, IsOk());

  StatedValues stated;
  Driver driver(seed, max_world);
  std::vector<std::string> history;
  for (int i = 0; i < kOperations; ++i) history.push_back(driver.Operate(**live, stated));
  const bool deleted = driver.Pick(0, 9) == 0;
  if (deleted) std::move((*live)->Delete([](absl::Status) {}))();

  std::vector<v1::JobEvent> events = AllEvents(**live);
  std::vector<v1::JobEvent*> pointers;
  for (auto& event : events) pointers.push_back(&event);
  auto replayed = Job::Replay(pointers, options, /*store=*/nullptr);
  ASSERT_THAT(replayed, IsOk()) << "after the calls:\n" << absl::StrJoin(history, "\n");

  v1::Job live_view, replayed_view;
  (*live)->ToProto(v1::JOB_VIEW_FULL, &live_view);
  (*replayed)->ToProto(v1::JOB_VIEW_FULL, &replayed_view);
  ASSERT_EQ(Bytes(live_view), Bytes(replayed_view))
      << "live " << live_view.ShortDebugString() << "\nreplayed "
      << replayed_view.ShortDebugString();
  if (deleted) return;

  // The same continuation into both: every answer equal.
  const uint64_t continuation = seed ^ 0x9e3779b97f4a7c15ULL;
  Driver live_driver(continuation, max_world);
  Driver replayed_driver(continuation, max_world);
  StatedValues replayed_stated;
  for (int i = 0; i < kOperations / 2; ++i) {
    const std::string a = live_driver.Operate(**live, stated);
    const std::string b = replayed_driver.Operate(**replayed, replayed_stated);
    ASSERT_EQ(a, b) << "continuation call " << i;
  }
  std::vector<v1::JobEvent> live_events = AllEvents(**live);
  std::vector<v1::JobEvent> replayed_events = AllEvents(**replayed);
  ASSERT_EQ(live_events.size(), replayed_events.size());
  for (size_t i = 0; i < live_events.size(); ++i) {
    live_events[i].clear_time();
    replayed_events[i].clear_time();
    ASSERT_EQ(Bytes(live_events[i]), Bytes(replayed_events[i])) << "event " << i + 1;
  }
}

TEST(JobReplayPropertyTest, ReplayOfEveryRandomHistoryEqualsTheLiveJob) {
  const char* env = std::getenv("LRSCHED_PROPERTY_SEED");
  const uint64_t base = env != nullptr ? std::strtoull(env, nullptr, 10) : 20261201;
  std::printf("LRSCHED_PROPERTY_SEED=%llu\n", static_cast<unsigned long long>(base));
  for (const char* spec : kSpecs) {
    for (int i = 0; i < kSeedsPerSpec; ++i) {
      CheckReplay(spec, base * 1000 + static_cast<uint64_t>(i));
      if (::testing::Test::HasFatalFailure() || ::testing::Test::HasNonfatalFailure()) return;
    }
  }
}

}  // namespace
}  // namespace lrsched
