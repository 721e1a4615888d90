// The cost of the math: one step() of each scheduler, and a whole preview.
//
//   build/tests/bench/schedule_bench --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "google/protobuf/util/json_util.h"
#include "service/schedule/preview.h"
#include "service/schedule/schedule.h"

namespace lrsched {
namespace {

// One representative configuration per scheduler, as a trainer would use it.
const std::vector<std::pair<std::string, std::string>>& Specs() {
  static const auto* specs = new std::vector<std::pair<std::string, std::string>>{
      {"StepLR", R"({"step_lr": {"step_size": 30}})"},
      {"MultiStepLR", R"({"multi_step_lr": {"milestones": [30, 80, 120, 300, 1000]}})"},
      {"ExponentialLR", R"({"exponential_lr": {"gamma": 0.99999}})"},
      {"CosineAnnealingLR", R"({"cosine_annealing_lr": {"t_max": 1000, "eta_min": 1e-5}})"},
      {"CyclicLR", R"({"cyclic_lr": {"base_lr": [0.001], "max_lr": [0.1]}})"},
      {"CyclicLR_triangular2",
       R"({"cyclic_lr": {"base_lr": [0.001], "max_lr": [0.1], "mode": "TRIANGULAR2"}})"},
      {"ReduceLROnPlateau", R"({"reduce_lr_on_plateau": {"patience": 3}})"},
      {"LinearLR", R"({"linear_lr": {"start_factor": 0.01, "total_iters": 1000000000}})"},
      {"ConstantLR", R"({"constant_lr": {"total_iters": 1000000000}})"},
      {"PolynomialLR", R"({"polynomial_lr": {"total_iters": 1000000000, "power": 0.9}})"},
      {"OneCycleLR", R"({"one_cycle_lr": {"max_lr": [0.1], "total_steps": 1000000000}})"},
      {"CosineAnnealingWarmRestarts",
       R"({"cosine_annealing_warm_restarts": {"t_0": 100, "t_mult": 2}})"},
      {"SequentialLR", R"({"sequential_lr": {"schedulers": [
           {"linear_lr": {"start_factor": 0.01, "total_iters": 100}},
           {"cosine_annealing_lr": {"t_max": 1000}}], "milestones": [100]}})"},
      {"SequentialLR_plateau", R"({"sequential_lr": {"schedulers": [
           {"linear_lr": {"start_factor": 0.01, "total_iters": 100}},
           {"reduce_lr_on_plateau": {"patience": 3}}], "milestones": [100]}})"},
      {"ChainedScheduler", R"({"chained_scheduler": {"schedulers": [
           {"linear_lr": {"start_factor": 0.01, "total_iters": 100}},
           {"exponential_lr": {"gamma": 0.9999}}]}})"},
  };
  return *specs;
}

v1::SchedulerSpec Parse(const std::string& json) {
  v1::SchedulerSpec spec;
  if (!google::protobuf::util::JsonStringToMessage(json, &spec).ok()) std::abort();
  return spec;
}

Schedule MakeSchedule(const v1::SchedulerSpec& spec) {
  auto schedule = Schedule::Create(spec, {0.1});
  if (!schedule.ok()) std::abort();
  return *std::move(schedule);
}

void BM_Step(benchmark::State& state, const std::string& json) {
  const v1::SchedulerSpec spec = Parse(json);
  Schedule schedule = MakeSchedule(spec);
  // A metric that never improves for long, so that plateau schedules reduce.
  double metric = 1.0;
  for (auto _ : state) {
    if (schedule.step() == schedule.last_step()) schedule = MakeSchedule(spec);
    schedule.Step(metric);
    metric = metric == 1.0 ? 0.99999 : 1.0;
    benchmark::DoNotOptimize(schedule.lrs().data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Preview(benchmark::State& state, const std::string& json) {
  const v1::SchedulerSpec spec = Parse(json);
  const int64_t steps = state.range(0);
  for (auto _ : state) {
    auto preview = Preview(spec, {0.1}, steps, {});
    benchmark::DoNotOptimize(preview->lrs.data());
  }
  state.SetItemsProcessed(state.iterations() * steps);
}

[[maybe_unused]] const bool registered = [] {
  for (const auto& [name, json] : Specs()) {
    benchmark::RegisterBenchmark(("Step/" + name).c_str(), BM_Step, json);
  }
  benchmark::RegisterBenchmark("Preview/CosineAnnealingLR", BM_Preview,
                               R"({"cosine_annealing_lr": {"t_max": 1000}})")
      ->Arg(1'000'000)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("Preview/OneCycleLR", BM_Preview,
                               R"({"one_cycle_lr": {"max_lr": [0.1], "total_steps": 1000000}})")
      ->Arg(1'000'000)
      ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
}  // namespace lrsched

BENCHMARK_MAIN();
