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

bool Schedule::Step(double metric, absl::Span<const v1::Override> overrides) {
  if (ended_) return false;
  saved_lrs_.assign(groups_.lrs.begin(), groups_.lrs.end());
  saved_momentums_.assign(groups_.momentums.begin(), groups_.momentums.end());
  scheduler_->Step(groups_, metric);
  for (const v1::Override& override : overrides) ApplyOverride(override);
  const char* what = nullptr;
  size_t group = 0;
  double value = 0;
  for (size_t g = 0; g < groups_.lrs.size() && what == nullptr; ++g) {
    if (!std::isfinite(groups_.lrs[g])) what = "learning rate", group = g, value = groups_.lrs[g];
  }
  for (size_t g = 0; g < groups_.momentums.size() && what == nullptr; ++g) {
    if (!std::isfinite(groups_.momentums[g])) what = "momentum", group = g, value = groups_.momentums[g];
  }
  if (what == nullptr) {
    ++step_;
    return true;
  }
  groups_.lrs.swap(saved_lrs_);
  groups_.momentums.swap(saved_momentums_);
  ended_ = true;
  end_reason_ = absl::StrCat("step ", step_ + 1, " would give group ", group, " a ", what, " of ",
                             value, overrides.empty() ? "" : " (after its overrides)");
  return false;
}

absl::Status Schedule::CheckOverride(const v1::Override& override) const {
  if (override.has_lrs()) return absl::OkStatus();  // the values are checked finite
  for (size_t g = 0; g < groups_.lrs.size(); ++g) {
    const double result = override.factor() * groups_.lrs[g];
    if (!std::isfinite(result)) {
      return absl::OutOfRangeError(absl::StrCat(
          "factor: ", override.factor(), " times group ", g, "'s learning rate ",
          groups_.lrs[g], " is ", result, "; learning rates must stay finite"));
    }
  }
  return absl::OkStatus();
}

void Schedule::ScaleSchedule(double factor) {
  for (double& lr : groups_.lrs) lr *= factor;
  for (double& lr : groups_.initial_lrs) lr *= factor;
  scheduler_->Scale(factor);
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

}  // namespace lrsched
