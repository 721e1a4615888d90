#include "tests/testing/job_driver.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "tests/testing/job_views.h"

namespace lrsched::testing {
namespace {

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

std::vector<uint64_t> Bits(const std::vector<double>& values) {
  std::vector<uint64_t> bits(values.size());
  if (!values.empty()) std::memcpy(bits.data(), values.data(), values.size() * sizeof(double));
  return bits;
}

// Every digit: a conflict may lie in the last bit.
std::string Print(const std::vector<double>& values) {
  return absl::StrCat("[",
                      absl::StrJoin(values, ", ",
                                    [](std::string* out, double value) {
                                      absl::StrAppendFormat(out, "%.17g", value);
                                    }),
                      "]");
}

}  // namespace

absl::Span<const char* const> DriverSpecs() { return kSpecs; }

int64_t RandomChoices::Pick(int64_t low, int64_t high) {
  if (high < low) return low;
  return std::uniform_int_distribution<int64_t>(low, high)(random_);
}

int64_t ByteChoices::Pick(int64_t low, int64_t high) {
  if (high <= low || bytes_.empty()) return low;
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  size_t width = range < 0x100 ? 1 : range < 0x10000 ? 2 : range < 0x100000000 ? 4 : 8;
  width = std::min(width, bytes_.size());
  uint64_t raw = 0;
  for (size_t i = 0; i < width; ++i) raw = (raw << 8) | bytes_[i];
  bytes_.remove_prefix(width);
  const uint64_t offset = range == std::numeric_limits<uint64_t>::max() ? raw : raw % (range + 1);
  return static_cast<int64_t>(static_cast<uint64_t>(low) + offset);
}

void StatedValues::Lrs(int64_t step, const google::protobuf::RepeatedField<double>& lrs,
                       const std::string& where) {
  Check(lrs_, step, std::vector<double>(lrs.begin(), lrs.end()), where);
}

void StatedValues::Values(const v1::StepValues& values, const std::string& where) {
  Lrs(values.step(), values.lrs(), where);
  Check(momentums_, values.step(),
        std::vector<double>(values.momentums().begin(), values.momentums().end()), where);
}

void StatedValues::Check(Seen& seen, int64_t step, const std::vector<double>& values,
                         const std::string& where) {
  auto [it, added] = seen.emplace(step, std::make_pair(values, where));
  if (added) return;
  // Decisions state learning rates only.
  if (values.empty() || it->second.first.empty()) return;
  if (Bits(it->second.first) == Bits(values)) return;
  conflicts_.push_back(absl::StrCat("step ", step, " was stated as ", Print(it->second.first),
                                    " by ", it->second.second, " and as ", Print(values),
                                    " by ", where));
}

std::string JobDriver::Operate(Job& job, StatedValues& stated) {
  v1::Job view;
  job.ToProto(v1::JOB_VIEW_FULL, &view);
  // Metric-free schedules decide every step: stay near the handed-out one.
  const int64_t decided = std::min<int64_t>(view.decided_step(),
                                            std::max<int64_t>(view.handed_out_step(), 0) + 8);
  const int world = view.world_size();
  asked_.resize(static_cast<size_t>(world), view.first_retained_step());
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
    record = absl::StrCat("step ", request.ShortDebugString(), " -> ", static_cast<int>(outcome),
                          " ", answered.ToString(), " ", response.ShortDebugString());
    int64_t& asked = asked_[static_cast<size_t>(request.rank())];
    if (absl::IsOutOfRange(answered) &&
        absl::StrContains(answered.message(), "before job job's retained window")) {
      if (request.step() >= asked) {
        evictions_.push_back(absl::StrCat(record, " (rank ", request.rank(), " had asked for ",
                                          asked, " at most)"));
      }
    } else {
      // However it was answered, the rank has asked for it.
      asked = std::max(asked, request.step());
    }
  } else if (op < 75) {
    v1::ReportMetricRequest request;
    request.set_rank(Pick(0, world - 1));
    request.set_step(std::max<int64_t>(0, decided - Pick(0, 2)));
    static const double kValues[] = {1.0, 0.9, 0.5, 2.0, 1.0, NAN};
    request.set_value(kValues[Pick(0, 5)]);
    if (Pick(0, 3) == 0) request.set_weight(Pick(1, 4));
    v1::ReportMetricResponse response;
    absl::Status answered = absl::UnknownError("not answered");
    job.ReportMetric(request, &response, [&answered](absl::Status status) { answered = status; });
    // A rank that reported a step has trained it: it asks for no earlier one.
    int64_t& asked = asked_[static_cast<size_t>(request.rank())];
    if (answered.ok()) asked = std::max(asked, request.step());
    if (answered.ok() && response.has_decision()) {
      stated.Lrs(response.decision().step() + 1, response.decision().lrs(), "ReportMetric");
    }
    record = absl::StrCat("report ", request.ShortDebugString(), " -> ", answered.ToString(),
                          " ", response.ShortDebugString());
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
    record = absl::StrCat("override ", request.ShortDebugString(), " -> ", answered.ToString(),
                          " ", override.ShortDebugString());
  } else if (op < 92) {
    const int32_t world_size = static_cast<int32_t>(Pick(1, max_world_));
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
    view = WithoutLiveProgress(std::move(view));
    record = absl::StrCat("view ", view.ShortDebugString());
  }
  return record;
}

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

absl::StatusOr<std::vector<v1::JobEvent>> AllEvents(const Job& job) {
  std::vector<v1::JobEvent> events;
  bool ended = false;
  absl::Status status = job.ReadEvents(1, 1'000'000, &events, &ended);
  if (!status.ok()) return status;
  return events;
}

namespace {

absl::Status NoConflicts(const StatedValues& stated, absl::string_view which) {
  if (stated.conflicts().empty()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("a value stated twice differently (", which, "):\n",
                                          absl::StrJoin(stated.conflicts(), "\n")));
}

absl::Status NoEvictions(const JobDriver& driver) {
  if (driver.evictions().empty()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("a step that a rank had not passed was refused:\n",
                                          absl::StrJoin(driver.evictions(), "\n")));
}

}  // namespace

absl::Status CheckReplayEqualsLive(const v1::JobCreated& created, const JobOptions& options,
                                   int max_world, int operations, Choices& history,
                                   int continuation_operations, Choices& continuation,
                                   Choices& replayed_continuation) {
  auto live = Job::Create("job", created, absl::FromUnixSeconds(1'700'000'000), options,
                          /*store=*/nullptr);
  if (!live.ok()) return absl::InternalError(absl::StrCat("creation: ", live.status().ToString()));

  StatedValues stated;
  JobDriver driver(history, max_world);
  std::vector<std::string> calls;
  for (int i = 0; i < operations && !history.exhausted(); ++i) {
    calls.push_back(driver.Operate(**live, stated));
  }
  const bool deleted = history.Pick(0, 9) == 0;
  if (deleted) std::move((*live)->Delete([](absl::Status) {}))();

  auto events = AllEvents(**live);
  if (!events.ok()) return events.status();
  std::vector<v1::JobEvent*> pointers;
  for (auto& event : *events) pointers.push_back(&event);
  auto replayed = Job::Replay(pointers, options, /*store=*/nullptr);
  if (!replayed.ok()) {
    return absl::InternalError(absl::StrCat("replay: ", replayed.status().ToString(),
                                            "\nafter the calls:\n", absl::StrJoin(calls, "\n")));
  }

  v1::Job live_view, replayed_view;
  (*live)->ToProto(v1::JOB_VIEW_FULL, &live_view);
  (*replayed)->ToProto(v1::JOB_VIEW_FULL, &replayed_view);
  live_view = WithoutLiveProgress(std::move(live_view));
  replayed_view = WithoutLiveProgress(std::move(replayed_view));
  if (DeterministicBytes(live_view) != DeterministicBytes(replayed_view)) {
    return absl::InternalError(absl::StrCat("live ", live_view.ShortDebugString(), "\nreplayed ",
                                            replayed_view.ShortDebugString(),
                                            "\nafter the calls:\n", absl::StrJoin(calls, "\n")));
  }
  if (absl::Status status = NoConflicts(stated, "live"); !status.ok()) return status;
  if (absl::Status status = NoEvictions(driver); !status.ok()) return status;
  if (deleted) return absl::OkStatus();

  // The same continuation into both: every answer equal.
  JobDriver live_driver(continuation, max_world, driver);
  JobDriver replayed_driver(replayed_continuation, max_world, driver);
  StatedValues replayed_stated;
  for (int i = 0; i < continuation_operations && !continuation.exhausted(); ++i) {
    const std::string a = live_driver.Operate(**live, stated);
    const std::string b = replayed_driver.Operate(**replayed, replayed_stated);
    if (a != b) {
      return absl::InternalError(
          absl::StrCat("continuation call ", i, ": live ", a, "\nreplayed ", b));
    }
  }
  auto live_events = AllEvents(**live);
  if (!live_events.ok()) return live_events.status();
  auto replayed_events = AllEvents(**replayed);
  if (!replayed_events.ok()) return replayed_events.status();
  if (live_events->size() != replayed_events->size()) {
    return absl::InternalError(absl::StrCat("live logged ", live_events->size(),
                                            " events, replayed ", replayed_events->size()));
  }
  for (size_t i = 0; i < live_events->size(); ++i) {
    (*live_events)[i].clear_time();
    (*replayed_events)[i].clear_time();
    if (DeterministicBytes((*live_events)[i]) != DeterministicBytes((*replayed_events)[i])) {
      return absl::InternalError(absl::StrCat("event ", i + 1, ": live ",
                                              (*live_events)[i].ShortDebugString(),
                                              "\nreplayed ",
                                              (*replayed_events)[i].ShortDebugString()));
    }
  }
  if (absl::Status status = NoConflicts(stated, "live"); !status.ok()) return status;
  if (absl::Status status = NoEvictions(live_driver); !status.ok()) return status;
  return NoConflicts(replayed_stated, "replayed");
}

}  // namespace lrsched::testing
