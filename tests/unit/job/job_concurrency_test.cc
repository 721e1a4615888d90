// Many threads drive one Job at once, as the server's callback threads do:
// workers step and report, an operator overrides, a watcher follows the
// events. Every worker sees the same values, and they equal the schedule
// replayed from the job's own history. Synchronizes only through std::
// primitives, so that ThreadSanitizer sees every edge (make test-tsan).
#include <future>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/job/job.h"
#include "tests/testing/pytorch_trace.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::IsOk;
using ::lrsched::testing::ParseSpec;

constexpr int kWorkers = 16;
constexpr int kSteps = 120;

// Step() until answered, parking on a promise whenever the step is undecided.
std::vector<double> StepValues(Job& job, int rank, int64_t step) {
  v1::StepRequest request;
  request.set_rank(rank);
  request.set_step(step);
  while (true) {
    v1::StepResponse response;
    std::promise<absl::Status> answered;
    std::promise<absl::Status> decided;
    const Job::StepOutcome outcome = job.Step(
        request, &response, [&answered](absl::Status status) { answered.set_value(status); },
        [&decided](absl::Status status) { decided.set_value(std::move(status)); });
    if (outcome == Job::StepOutcome::kParked) {
      EXPECT_THAT(decided.get_future().get(), IsOk());
      continue;
    }
    EXPECT_THAT(answered.get_future().get(), IsOk());
    return {response.values(0).lrs().begin(), response.values(0).lrs().end()};
  }
}

TEST(JobConcurrencyTest, WorkersOperatorAndWatcherAgreeOnEveryValue) {
  v1::JobCreated created;
  *created.mutable_spec() = ParseSpec(
      R"({"reduce_lr_on_plateau": {"patience": 2, "factor": 0.5, "min_lr": [1e-5]}})");
  created.add_base_lrs(0.1);
  created.add_base_lrs(0.2);
  created.set_world_size(kWorkers);
  created.set_aggregation(v1::MEAN);
  JobOptions options;
  options.handed_out_chunk = 3;
  // The watcher must see every event, however far behind the scheduler leaves
  // it: keep them all (a real watcher too far behind is dropped).
  options.max_events = 1'000'000;
  auto job = Job::Create("job", created, absl::UnixEpoch(), options, /*store=*/nullptr);
  ASSERT_THAT(job, IsOk());

  std::vector<std::vector<std::vector<double>>> seen(kWorkers);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < kWorkers; ++rank) {
    threads.emplace_back([&, rank] {
      for (int step = 0; step < kSteps; ++step) {
        seen[rank].push_back(StepValues(**job, rank, step));
        v1::ReportMetricRequest report;
        report.set_rank(rank);
        report.set_step(step);
        report.set_value(1.0 + 0.01 * ((rank * 13 + step * 7) % 5));
        v1::ReportMetricResponse response;
        std::promise<absl::Status> done;
        (*job)->ReportMetric(report, &response,
                             [&done](absl::Status status) { done.set_value(status); });
        ASSERT_THAT(done.get_future().get(), IsOk());
      }
    });
  }
  std::atomic<bool> stop_operator{false};
  threads.emplace_back([&] {
    for (int i = 0; i < 40 && !stop_operator; ++i) {
      v1::SetLearningRateRequest request;
      request.set_step(i * 3);
      if (i % 3 == 0) {
        request.set_mode(v1::SCALE_SCHEDULE);
        request.set_factor(1.5);
      } else {
        request.set_factor(0.9);
      }
      v1::Override override;
      std::promise<absl::Status> done;
      (*job)->SetLearningRate(request, &override,
                              [&done](absl::Status status) { done.set_value(status); });
      EXPECT_THAT(done.get_future().get(), IsOk());
      std::this_thread::yield();
    }
  });
  std::vector<v1::JobEvent> watched;
  std::thread watcher([&] {
    int64_t next = 1;
    while (true) {
      std::vector<v1::JobEvent> batch;
      bool ended = false;
      ASSERT_THAT((*job)->ReadEvents(next, 100, &batch, &ended), IsOk());
      for (auto& event : batch) watched.push_back(std::move(event));
      if (!watched.empty()) next = watched.back().sequence() + 1;
      if (ended) return;
      if (!batch.empty()) continue;
      std::promise<void> woken;
      if ((*job)->WaitForEvent(next, [&woken] { woken.set_value(); }) != 0) {
        woken.get_future().wait();
      }
    }
  });
  for (auto& thread : threads) thread.join();
  stop_operator = true;
  std::move((*job)->Delete([](absl::Status) {}))();
  watcher.join();

  for (int rank = 1; rank < kWorkers; ++rank) ASSERT_EQ(seen[rank], seen[0]) << "rank " << rank;

  // Replay what the job recorded: its aggregated metrics and its overrides.
  v1::Job view;
  (*job)->ToProto(v1::JOB_VIEW_FULL, &view);
  ASSERT_EQ(view.metric_history_size(), kSteps);
  auto schedule = Schedule::Create(created.spec(), created.base_lrs());
  ASSERT_THAT(schedule, IsOk());
  for (int step = 0; step < kSteps; ++step) {
    if (step > 0) schedule->Step(view.metric_history(step - 1).value());
    for (const v1::Override& override : view.overrides()) {
      if (override.effective_step() == step) schedule->ApplyOverride(override);
    }
    ASSERT_EQ(seen[0][step], schedule->lrs()) << "step " << step;
  }
  // The watcher saw every event once, in order, ending with the deletion.
  ASSERT_FALSE(watched.empty());
  for (size_t i = 0; i < watched.size(); ++i) {
    ASSERT_EQ(watched[i].sequence(), static_cast<int64_t>(i + 1));
  }
  EXPECT_TRUE(watched.back().has_deleted());
}

}  // namespace
}  // namespace lrsched
