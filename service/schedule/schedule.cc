#include "service/schedule/schedule.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/schedule/scheduler_factory.h"

namespace lrsched {
namespace {

absl::Status CheckBaseLrs(absl::Span<const double> base_lrs) {
  if (base_lrs.empty() || base_lrs.size() > kMaxParamGroups) {
    return absl::InvalidArgumentError(
        absl::StrCat("base_lrs: expected 1 to ", kMaxParamGroups,
                     " values (one per parameter group), got ", base_lrs.size()));
  }
  for (size_t g = 0; g < base_lrs.size(); ++g) {
    if (!std::isfinite(base_lrs[g]) || base_lrs[g] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "base_lrs[", g, "]: must be finite and at least 0, got ", base_lrs[g]));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Schedule> Schedule::Create(const v1::SchedulerSpec& spec,
                                          absl::Span<const double> base_lrs) {
  if (absl::Status status = CheckBaseLrs(base_lrs); !status.ok()) return status;
  auto scheduler = MakeScheduler(spec, base_lrs.size());
  if (!scheduler.ok()) return scheduler.status();
  ParamGroups groups;
  groups.lrs.assign(base_lrs.begin(), base_lrs.end());
  (*scheduler)->Construct(groups);
  return Schedule(*std::move(scheduler), std::move(groups));
}

void Schedule::Step(double metric) {
  scheduler_->Step(groups_, metric);
  ++step_;
}

void Schedule::ScaleSchedule(double factor) {
  for (double& lr : groups_.lrs) lr *= factor;
  for (double& lr : groups_.initial_lrs) lr *= factor;
  scheduler_->Scale(factor);
  scales_.push_back(factor);
}

void Schedule::ApplyOverride(const v1::Override& override) {
  if (override.mode() == v1::SCALE_SCHEDULE) {
    ScaleSchedule(override.factor());
    return;
  }
  if (override.has_lrs()) {
    const auto& values = override.lrs().values();
    for (size_t g = 0; g < groups_.lrs.size(); ++g) {
      groups_.lrs[g] = values.size() == 1 ? values[0] : values[g];
    }
    return;
  }
  for (double& lr : groups_.lrs) lr = override.factor() * lr;
}

v1::ScheduleState Schedule::SaveState() const {
  v1::ScheduleState state;
  state.mutable_lrs()->Add(groups_.lrs.begin(), groups_.lrs.end());
  state.mutable_initial_lrs()->Add(groups_.initial_lrs.begin(), groups_.initial_lrs.end());
  state.mutable_momentums()->Add(groups_.momentums.begin(), groups_.momentums.end());
  scheduler_->SaveState(*state.mutable_scheduler());
  state.set_step(step_);
  state.mutable_scales()->Add(scales_.begin(), scales_.end());
  return state;
}

absl::Status Schedule::RestoreState(const v1::ScheduleState& state) {
  const auto size_fits = [](int size, size_t expected) {
    return static_cast<size_t>(size) == expected;
  };
  if (!size_fits(state.lrs_size(), groups_.lrs.size()) ||
      !size_fits(state.initial_lrs_size(), groups_.initial_lrs.size()) ||
      !size_fits(state.momentums_size(), groups_.momentums.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "schedule state: ", state.lrs_size(), " lrs, ", state.initial_lrs_size(),
        " initial_lrs and ", state.momentums_size(), " momentums for ",
        groups_.lrs.size(), " parameter groups"));
  }
  if (state.step() < 0 || state.step() > last_step()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "schedule state: step ", state.step(), " is outside [0, ", last_step(), "]"));
  }
  if (!scales_.empty()) {
    return absl::FailedPreconditionError("schedule state: restore into a fresh schedule only");
  }
  if (absl::Status status = scheduler_->RestoreState(state.scheduler()); !status.ok()) {
    return status;
  }
  for (double factor : state.scales()) scheduler_->Scale(factor);
  scales_.assign(state.scales().begin(), state.scales().end());
  groups_.lrs.assign(state.lrs().begin(), state.lrs().end());
  groups_.initial_lrs.assign(state.initial_lrs().begin(), state.initial_lrs().end());
  groups_.momentums.assign(state.momentums().begin(), state.momentums().end());
  step_ = state.step();
  return absl::OkStatus();
}

}  // namespace lrsched
