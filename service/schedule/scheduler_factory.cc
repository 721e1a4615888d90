#include "service/schedule/scheduler_factory.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/schedule/chained_scheduler.h"
#include "service/schedule/constant_lr.h"
#include "service/schedule/cosine_annealing_lr.h"
#include "service/schedule/cosine_annealing_warm_restarts.h"
#include "service/schedule/cyclic_lr.h"
#include "service/schedule/exponential_lr.h"
#include "service/schedule/linear_lr.h"
#include "service/schedule/multi_step_lr.h"
#include "service/schedule/one_cycle_lr.h"
#include "service/schedule/polynomial_lr.h"
#include "service/schedule/reduce_lr_on_plateau.h"
#include "service/schedule/sequential_lr.h"
#include "service/schedule/step_lr.h"

namespace lrsched {
namespace {

using SchedulerPtr = std::unique_ptr<Scheduler>;
constexpr double kInf = std::numeric_limits<double>::infinity();

// A field's path in the spec, for messages.
class Field {
 public:
  explicit Field(std::string path) : path_(std::move(path)) {}
  Field operator/(absl::string_view name) const {
    return Field(path_.empty() ? std::string(name) : absl::StrCat(path_, ".", name));
  }
  Field operator[](int index) const { return Field(absl::StrCat(path_, "[", index, "]")); }
  const std::string& path() const { return path_; }

  absl::Status Error(absl::string_view rule) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", rule));
  }

 private:
  std::string path_;
};

// Integers in [low, high].
absl::Status CheckInt(const Field& field, int64_t value, int64_t low, int64_t high) {
  if (value >= low && value <= high) return absl::OkStatus();
  if (high == kMaxStep) {
    return field.Error(absl::StrCat("must be in [", low, ", 2^53 - 1], got ", value));
  }
  return field.Error(absl::StrCat("must be in [", low, ", ", high, "], got ", value));
}

// Finite reals in [low, high], or (low, high] when low_open.
absl::Status CheckReal(const Field& field, double value, double low, double high,
                       bool low_open = false) {
  const bool ok = std::isfinite(value) && (low_open ? value > low : value >= low) &&
                  value <= high;
  if (ok) return absl::OkStatus();
  std::string rule = "must be finite";
  if (low > -kInf) absl::StrAppend(&rule, low_open ? " and greater than " : " and at least ", low);
  if (high < kInf) absl::StrAppend(&rule, " and at most ", high);
  return field.Error(absl::StrCat(rule, ", got ", value));
}

// A PyTorch argument that is one number or one per group: expands it to one
// per group, checking each value.
absl::StatusOr<std::vector<double>> PerGroup(
    const Field& field, const google::protobuf::RepeatedField<double>& values,
    std::optional<double> default_value, size_t num_groups, double low, double high) {
  if (values.empty()) {
    if (!default_value) return field.Error("is required (one value, or one per parameter group)");
    return std::vector<double>(num_groups, *default_value);
  }
  if (values.size() != 1 && static_cast<size_t>(values.size()) != num_groups) {
    return field.Error(absl::StrCat("expected 1 or ", num_groups,
                                    " values (one per parameter group), got ", values.size()));
  }
  for (int i = 0; i < values.size(); ++i) {
    if (absl::Status s = CheckReal(field[i], values[i], low, high); !s.ok()) return s;
  }
  if (values.size() == 1) return std::vector<double>(num_groups, values[0]);
  return std::vector<double>(values.begin(), values.end());
}

// Where a scheduler stands in a composite: some are valid only in places.
struct Placement {
  bool restarted = false;  // takes over at a SequentialLR milestone
};

absl::StatusOr<SchedulerPtr> Make(const v1::SchedulerSpec& spec, size_t num_groups,
                                  const Field& field, Placement placement);

absl::StatusOr<SchedulerPtr> MakeStepLR(const v1::StepLR& spec, const Field& field) {
  LRSCHED_RETURN_IF_ERROR(CheckInt(field / "step_size", spec.step_size(), 1, kMaxStep));
  const double gamma = spec.has_gamma() ? spec.gamma() : 0.1;
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "gamma", gamma, 0, kInf));
  return std::make_unique<StepLR>(spec.step_size(), gamma);
}

absl::StatusOr<SchedulerPtr> MakeMultiStepLR(const v1::MultiStepLR& spec, const Field& field) {
  for (int i = 0; i < spec.milestones_size(); ++i) {
    LRSCHED_RETURN_IF_ERROR(CheckInt((field / "milestones")[i], spec.milestones(i), 0, kMaxStep));
  }
  const double gamma = spec.has_gamma() ? spec.gamma() : 0.1;
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "gamma", gamma, 0, kInf));
  std::vector<int64_t> milestones(spec.milestones().begin(), spec.milestones().end());
  std::sort(milestones.begin(), milestones.end());
  // A milestone repeated k times multiplies by gamma**k, which Python raises
  // on when it overflows.
  int64_t repeats = 0;
  for (auto it = milestones.begin(); it != milestones.end(); ++it) {
    repeats = std::max<int64_t>(repeats, std::upper_bound(it, milestones.end(), *it) - it);
  }
  if (!std::isfinite(std::pow(gamma, static_cast<double>(repeats)))) {
    return (field / "gamma").Error(absl::StrCat(
        "gamma ", gamma, " to the power ", repeats, " (a repeated milestone) overflows"));
  }
  return std::make_unique<MultiStepLR>(std::move(milestones), gamma);
}

absl::StatusOr<SchedulerPtr> MakeExponentialLR(const v1::ExponentialLR& spec,
                                               const Field& field) {
  if (!spec.has_gamma()) return (field / "gamma").Error("is required");
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "gamma", spec.gamma(), 0, kInf));
  return std::make_unique<ExponentialLR>(spec.gamma());
}

absl::StatusOr<SchedulerPtr> MakeCosineAnnealingLR(const v1::CosineAnnealingLR& spec,
                                                   const Field& field) {
  LRSCHED_RETURN_IF_ERROR(CheckInt(field / "t_max", spec.t_max(), 1, kMaxCosineTMax));
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "eta_min", spec.eta_min(), -kInf, kInf));
  return std::make_unique<CosineAnnealingLR>(spec.t_max(), spec.eta_min());
}

absl::StatusOr<SchedulerPtr> MakeCyclicLR(const v1::CyclicLR& spec, size_t num_groups,
                                          const Field& field) {
  CyclicLR::Params params;
  auto base_lrs = PerGroup(field / "base_lr", spec.base_lr(), std::nullopt, num_groups, 0, kInf);
  if (!base_lrs.ok()) return base_lrs.status();
  params.base_lrs = *std::move(base_lrs);
  auto max_lrs = PerGroup(field / "max_lr", spec.max_lr(), std::nullopt, num_groups, 0, kInf);
  if (!max_lrs.ok()) return max_lrs.status();
  params.max_lrs = *std::move(max_lrs);
  // Step sizes are floats in PyTorch; the bound keeps step / total_size exact.
  constexpr double kMaxSize = 1e12;
  params.step_size_up = spec.has_step_size_up() ? spec.step_size_up() : 2000;
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "step_size_up", params.step_size_up, 0, kMaxSize, true));
  params.step_size_down = spec.has_step_size_down() ? spec.step_size_down() : params.step_size_up;
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "step_size_down", params.step_size_down, 0, kMaxSize));
  switch (spec.mode()) {
    case v1::CyclicLR::MODE_UNSPECIFIED:
    case v1::CyclicLR::TRIANGULAR:
      params.mode = CyclicLR::Mode::kTriangular;
      break;
    case v1::CyclicLR::TRIANGULAR2:
      params.mode = CyclicLR::Mode::kTriangular2;
      break;
    case v1::CyclicLR::EXP_RANGE:
      params.mode = CyclicLR::Mode::kExpRange;
      break;
    default:
      return (field / "mode").Error(absl::StrCat("unknown value ", spec.mode()));
  }
  params.gamma = spec.has_gamma() ? spec.gamma() : 1.0;
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "gamma", params.gamma, 0, kInf, true));
  if (!v1::CyclicLR::ScaleMode_IsValid(spec.scale_mode())) {
    return (field / "scale_mode").Error(absl::StrCat("unknown value ", spec.scale_mode()));
  }
  params.cycle_momentum = spec.has_cycle_momentum() ? spec.cycle_momentum() : true;
  auto base_momentums =
      PerGroup(field / "base_momentum", spec.base_momentum(), 0.8, num_groups, 0, 1);
  if (!base_momentums.ok()) return base_momentums.status();
  auto max_momentums =
      PerGroup(field / "max_momentum", spec.max_momentum(), 0.9, num_groups, 0, 1);
  if (!max_momentums.ok()) return max_momentums.status();
  params.base_momentums = *std::move(base_momentums);
  params.max_momentums = *std::move(max_momentums);
  return std::make_unique<CyclicLR>(std::move(params));
}

absl::StatusOr<SchedulerPtr> MakeReduceLROnPlateau(const v1::ReduceLROnPlateau& spec,
                                                   size_t num_groups, const Field& field) {
  ReduceLROnPlateau::Params params;
  if (!v1::ReduceLROnPlateau::Mode_IsValid(spec.mode())) {
    return (field / "mode").Error(absl::StrCat("unknown value ", spec.mode()));
  }
  params.mode_max = spec.mode() == v1::ReduceLROnPlateau::MAX;
  params.factor = spec.has_factor() ? spec.factor() : 0.1;
  if (params.factor >= 1.0) {
    return (field / "factor").Error(absl::StrCat("must be < 1.0, got ", params.factor));
  }
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "factor", params.factor, 0, 1));
  params.patience = spec.has_patience() ? spec.patience() : 10;
  LRSCHED_RETURN_IF_ERROR(CheckInt(field / "patience", params.patience, 0, kMaxStep));
  params.threshold = spec.has_threshold() ? spec.threshold() : 1e-4;
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "threshold", params.threshold, 0, kInf));
  if (!v1::ReduceLROnPlateau::ThresholdMode_IsValid(spec.threshold_mode())) {
    return (field / "threshold_mode").Error(absl::StrCat("unknown value ", spec.threshold_mode()));
  }
  params.threshold_abs = spec.threshold_mode() == v1::ReduceLROnPlateau::ABS;
  params.cooldown = spec.has_cooldown() ? spec.cooldown() : 0;
  LRSCHED_RETURN_IF_ERROR(CheckInt(field / "cooldown", params.cooldown, 0, kMaxStep));
  auto min_lrs = PerGroup(field / "min_lr", spec.min_lr(), 0.0, num_groups, 0, kInf);
  if (!min_lrs.ok()) return min_lrs.status();
  params.min_lrs = *std::move(min_lrs);
  params.eps = spec.has_eps() ? spec.eps() : 1e-8;
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "eps", params.eps, 0, kInf));
  return std::make_unique<ReduceLROnPlateau>(std::move(params));
}

absl::StatusOr<SchedulerPtr> MakeLinearLR(const v1::LinearLR& spec, const Field& field,
                                          Placement placement) {
  const double start = spec.has_start_factor() ? spec.start_factor() : 1.0 / 3;
  const double end = spec.has_end_factor() ? spec.end_factor() : 1.0;
  const int64_t total_iters = spec.has_total_iters() ? spec.total_iters() : 5;
  // start_factor 0 makes PyTorch divide by zero at step 1.
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "start_factor", start, 0, 1, true));
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "end_factor", end, 0, 1));
  // Its closed form, used when it takes over at a milestone, divides by
  // total_iters.
  LRSCHED_RETURN_IF_ERROR(CheckInt(field / "total_iters", total_iters, placement.restarted ? 1 : 0,
                            kMaxStep));
  return std::make_unique<LinearLR>(start, end, total_iters);
}

absl::StatusOr<SchedulerPtr> MakeConstantLR(const v1::ConstantLR& spec, const Field& field) {
  const double factor = spec.has_factor() ? spec.factor() : 1.0 / 3;
  const int64_t total_iters = spec.has_total_iters() ? spec.total_iters() : 5;
  LRSCHED_RETURN_IF_ERROR(CheckInt(field / "total_iters", total_iters, 0, kMaxStep));
  // Restoring at total_iters divides by the factor; with total_iters 0 that
  // step never comes, as in PyTorch.
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "factor", factor, 0, 1, total_iters > 0));
  return std::make_unique<ConstantLR>(factor, total_iters);
}

absl::StatusOr<SchedulerPtr> MakePolynomialLR(const v1::PolynomialLR& spec, const Field& field,
                                              Placement placement) {
  const int64_t total_iters = spec.has_total_iters() ? spec.total_iters() : 5;
  const double power = spec.has_power() ? spec.power() : 1.0;
  LRSCHED_RETURN_IF_ERROR(CheckInt(field / "total_iters", total_iters, placement.restarted ? 1 : 0,
                            kMaxStep));
  // 0.0 ** negative at total_iters is a ZeroDivisionError in PyTorch.
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "power", power, 0, kInf));
  return std::make_unique<PolynomialLR>(total_iters, power);
}

absl::StatusOr<SchedulerPtr> MakeOneCycleLR(const v1::OneCycleLR& spec, size_t num_groups,
                                            const Field& field) {
  OneCycleLR::Params params;
  auto max_lrs = PerGroup(field / "max_lr", spec.max_lr(), std::nullopt, num_groups, 0, kInf);
  if (!max_lrs.ok()) return max_lrs.status();
  params.max_lrs = *std::move(max_lrs);
  if (spec.has_total_steps()) {
    LRSCHED_RETURN_IF_ERROR(CheckInt(field / "total_steps", spec.total_steps(), 1, kMaxStep));
    params.total_steps = spec.total_steps();
  } else if (spec.has_epochs() || spec.has_steps_per_epoch()) {
    if (!spec.has_epochs() || !spec.has_steps_per_epoch()) {
      return field.Error("give total_steps, or both epochs and steps_per_epoch");
    }
    LRSCHED_RETURN_IF_ERROR(CheckInt(field / "epochs", spec.epochs(), 1, kMaxStep));
    LRSCHED_RETURN_IF_ERROR(CheckInt(field / "steps_per_epoch", spec.steps_per_epoch(), 1, kMaxStep));
    if (spec.epochs() > kMaxStep / spec.steps_per_epoch()) {
      return field.Error("epochs * steps_per_epoch must be at most 2^53 - 1");
    }
    params.total_steps = spec.epochs() * spec.steps_per_epoch();
  } else {
    return field.Error("you must define either total_steps OR (epochs AND steps_per_epoch)");
  }
  params.pct_start = spec.has_pct_start() ? spec.pct_start() : 0.3;
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "pct_start", params.pct_start, 0, 1));
  switch (spec.anneal_strategy()) {
    case v1::OneCycleLR::ANNEAL_STRATEGY_UNSPECIFIED:
    case v1::OneCycleLR::COS:
      params.cos = true;
      break;
    case v1::OneCycleLR::LINEAR:
      params.cos = false;
      break;
    default:
      return (field / "anneal_strategy").Error(absl::StrCat("unknown value ", spec.anneal_strategy()));
  }
  params.cycle_momentum = spec.has_cycle_momentum() ? spec.cycle_momentum() : true;
  auto base_momentums =
      PerGroup(field / "base_momentum", spec.base_momentum(), 0.85, num_groups, 0, 1);
  if (!base_momentums.ok()) return base_momentums.status();
  auto max_momentums =
      PerGroup(field / "max_momentum", spec.max_momentum(), 0.95, num_groups, 0, 1);
  if (!max_momentums.ok()) return max_momentums.status();
  params.base_momentums = *std::move(base_momentums);
  params.max_momentums = *std::move(max_momentums);
  params.div_factor = spec.has_div_factor() ? spec.div_factor() : 25.;
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "div_factor", params.div_factor, 0, kInf, true));
  params.final_div_factor = spec.has_final_div_factor() ? spec.final_div_factor() : 1e4;
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "final_div_factor", params.final_div_factor, 0, kInf, true));
  params.three_phase = spec.three_phase();
  auto scheduler = OneCycleLR::Create(std::move(params));
  if (!scheduler.ok()) return scheduler.status();
  return std::make_unique<OneCycleLR>(*std::move(scheduler));
}

absl::StatusOr<SchedulerPtr> MakeWarmRestarts(const v1::CosineAnnealingWarmRestarts& spec,
                                              const Field& field) {
  LRSCHED_RETURN_IF_ERROR(CheckInt(field / "t_0", spec.t_0(), 1, kMaxStep));
  const int64_t t_mult = spec.has_t_mult() ? spec.t_mult() : 1;
  LRSCHED_RETURN_IF_ERROR(CheckInt(field / "t_mult", t_mult, 1, kMaxStep));
  LRSCHED_RETURN_IF_ERROR(CheckReal(field / "eta_min", spec.eta_min(), -kInf, kInf));
  return std::make_unique<CosineAnnealingWarmRestarts>(spec.t_0(), t_mult, spec.eta_min());
}

// Children of SequentialLR and ChainedScheduler share the optimizer, so some
// combinations PyTorch cannot run (or runs differently than anyone expects)
// are refused here.
absl::Status CheckChild(const v1::SchedulerSpec& child, const Field& field,
                        int* one_cycle_count) {
  switch (child.kind_case()) {
    case v1::SchedulerSpec::kSequentialLr:
    case v1::SchedulerSpec::kChainedScheduler:
      return field.Error("a SequentialLR or ChainedScheduler cannot contain another one");
    case v1::SchedulerSpec::kOneCycleLr:
      // OneCycleLR keeps its bounds in the shared param_groups; a second one
      // would overwrite the first's.
      if (++*one_cycle_count > 1) return field.Error("at most one OneCycleLR per schedule");
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

absl::StatusOr<SchedulerPtr> MakeSequentialLR(const v1::SequentialLR& spec, size_t num_groups,
                                              const Field& field) {
  const int count = spec.schedulers_size();
  if (count == 0) return (field / "schedulers").Error("must name at least one scheduler");
  if (spec.milestones_size() != count - 1) {
    return (field / "milestones").Error(absl::StrCat(
        "expected one fewer milestone than schedulers (", count - 1, "), got ",
        spec.milestones_size()));
  }
  for (int i = 0; i < spec.milestones_size(); ++i) {
    LRSCHED_RETURN_IF_ERROR(CheckInt((field / "milestones")[i], spec.milestones(i), 1, kMaxStep));
    if (i > 0 && spec.milestones(i) <= spec.milestones(i - 1)) {
      return ((field / "milestones")[i]).Error(absl::StrCat(
          "milestones must be strictly increasing, got ", spec.milestones(i), " after ",
          spec.milestones(i - 1)));
    }
  }
  std::vector<SchedulerPtr> children;
  int one_cycle_count = 0;
  for (int i = 0; i < count; ++i) {
    const Field child_field = (field / "schedulers")[i];
    const v1::SchedulerSpec& child = spec.schedulers(i);
    LRSCHED_RETURN_IF_ERROR(CheckChild(child, child_field, &one_cycle_count));
    if (child.has_reduce_lr_on_plateau() && (i == 0 || i + 1 != count)) {
      return child_field.Error(
          "ReduceLROnPlateau must be the last scheduler of a SequentialLR, after at least "
          "one other");
    }
    auto scheduler = Make(child, num_groups, child_field, Placement{i > 0});
    if (!scheduler.ok()) return scheduler.status();
    children.push_back(*std::move(scheduler));
  }
  return std::make_unique<SequentialLR>(
      std::move(children), std::vector<int64_t>(spec.milestones().begin(), spec.milestones().end()));
}

absl::StatusOr<SchedulerPtr> MakeChainedScheduler(const v1::ChainedScheduler& spec,
                                                  size_t num_groups, const Field& field) {
  if (spec.schedulers_size() == 0) {
    return (field / "schedulers").Error("must name at least one scheduler");
  }
  std::vector<SchedulerPtr> children;
  int one_cycle_count = 0;
  for (int i = 0; i < spec.schedulers_size(); ++i) {
    const Field child_field = (field / "schedulers")[i];
    const v1::SchedulerSpec& child = spec.schedulers(i);
    LRSCHED_RETURN_IF_ERROR(CheckChild(child, child_field, &one_cycle_count));
    if (child.has_reduce_lr_on_plateau()) {
      return child_field.Error("ChainedScheduler cannot contain ReduceLROnPlateau");
    }
    auto scheduler = Make(child, num_groups, child_field, Placement{});
    if (!scheduler.ok()) return scheduler.status();
    children.push_back(*std::move(scheduler));
  }
  return std::make_unique<ChainedScheduler>(std::move(children));
}

absl::StatusOr<SchedulerPtr> Make(const v1::SchedulerSpec& spec, size_t num_groups,
                                  const Field& field, Placement placement) {
  switch (spec.kind_case()) {
    case v1::SchedulerSpec::kStepLr:
      return MakeStepLR(spec.step_lr(), field / "step_lr");
    case v1::SchedulerSpec::kMultiStepLr:
      return MakeMultiStepLR(spec.multi_step_lr(), field / "multi_step_lr");
    case v1::SchedulerSpec::kExponentialLr:
      return MakeExponentialLR(spec.exponential_lr(), field / "exponential_lr");
    case v1::SchedulerSpec::kCosineAnnealingLr:
      return MakeCosineAnnealingLR(spec.cosine_annealing_lr(), field / "cosine_annealing_lr");
    case v1::SchedulerSpec::kCyclicLr:
      return MakeCyclicLR(spec.cyclic_lr(), num_groups, field / "cyclic_lr");
    case v1::SchedulerSpec::kReduceLrOnPlateau:
      return MakeReduceLROnPlateau(spec.reduce_lr_on_plateau(), num_groups,
                                   field / "reduce_lr_on_plateau");
    case v1::SchedulerSpec::kLinearLr:
      return MakeLinearLR(spec.linear_lr(), field / "linear_lr", placement);
    case v1::SchedulerSpec::kConstantLr:
      return MakeConstantLR(spec.constant_lr(), field / "constant_lr");
    case v1::SchedulerSpec::kPolynomialLr:
      return MakePolynomialLR(spec.polynomial_lr(), field / "polynomial_lr", placement);
    case v1::SchedulerSpec::kOneCycleLr:
      return MakeOneCycleLR(spec.one_cycle_lr(), num_groups, field / "one_cycle_lr");
    case v1::SchedulerSpec::kCosineAnnealingWarmRestarts:
      return MakeWarmRestarts(spec.cosine_annealing_warm_restarts(),
                              field / "cosine_annealing_warm_restarts");
    case v1::SchedulerSpec::kSequentialLr:
      return MakeSequentialLR(spec.sequential_lr(), num_groups, field / "sequential_lr");
    case v1::SchedulerSpec::kChainedScheduler:
      return MakeChainedScheduler(spec.chained_scheduler(), num_groups,
                                  field / "chained_scheduler");
    case v1::SchedulerSpec::KIND_NOT_SET:
      break;
  }
  return field.Error("must set exactly one scheduler (step_lr, multi_step_lr, ...)");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Scheduler>> MakeScheduler(const v1::SchedulerSpec& spec,
                                                         size_t num_groups) {
  return Make(spec, num_groups, Field("spec"), Placement{});
}

}  // namespace lrsched
