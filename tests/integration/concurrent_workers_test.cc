// The single-assignment guarantee under load: 64 workers train one
// ReduceLROnPlateau job for 200 epochs, each with its own retries and timing,
// and all of them see the very same learning rates, which equal
// PreviewSchedule fed the metrics the server aggregated.
#include <cmath>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::TestServer;

constexpr int kWorkers = 64;
constexpr int kEpochs = 200;

// A validation loss that falls, then stalls with per-rank noise.
double Loss(int rank, int epoch) {
  const double trend = std::max(0.4, 2.0 * std::exp(-0.03 * epoch));
  return trend + 0.01 * std::sin(rank * 7.0 + epoch * 3.0);
}

TEST(ConcurrentWorkersTest, SixtyFourWorkersSeeIdenticalRatesEqualToPreview) {
  TestServer server;
  const char* spec = R"({"reduce_lr_on_plateau": {"patience": 3, "factor": 0.5, "cooldown": 1,
                         "min_lr": [1e-4]}})";
  v1::CreateJobRequest create = FromJson<v1::CreateJobRequest>(R"({"job_id": "ddp",
      "base_lrs": [0.1, 0.05], "world_size": 64})");
  *create.mutable_spec() = FromJson<v1::SchedulerSpec>(spec);
  ASSERT_THAT(server.CreateJob(create), IsOk());

  std::vector<std::vector<std::vector<double>>> seen(kWorkers);  // [rank][epoch] -> lrs
  std::vector<std::thread> workers;
  for (int rank = 0; rank < kWorkers; ++rank) {
    workers.emplace_back([&, rank] {
      for (int epoch = 0; epoch < kEpochs; ++epoch) {
        auto values = server.Step("ddp", rank, epoch, 0, absl::Seconds(60));
        ASSERT_THAT(values, IsOk());
        seen[rank].emplace_back(values->values(0).lrs().begin(), values->values(0).lrs().end());
        // Every third worker retries its report, as after a lost response.
        for (int attempt = 0; attempt < (rank % 3 == 0 ? 2 : 1); ++attempt) {
          ASSERT_THAT(server.ReportMetric("ddp", rank, epoch, Loss(rank, epoch), 100 + rank),
                      IsOk());
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();

  for (int rank = 1; rank < kWorkers; ++rank) ASSERT_EQ(seen[rank], seen[0]) << "rank " << rank;
  auto job = server.GetJob("ddp");
  ASSERT_THAT(job, IsOk());
  ASSERT_EQ(job->metric_history_size(), kEpochs);
  v1::PreviewScheduleRequest preview;
  *preview.mutable_spec() = create.spec();
  *preview.mutable_base_lrs() = create.base_lrs();
  preview.set_steps(kEpochs - 1);
  for (int epoch = 0; epoch + 1 < kEpochs; ++epoch) {
    preview.add_metrics(job->metric_history(epoch).value());
  }
  auto expected = server.Preview(preview);
  ASSERT_THAT(expected, IsOk());
  int reductions = 0;
  for (int epoch = 0; epoch < kEpochs; ++epoch) {
    const auto& lrs = expected->values(epoch).lrs();
    ASSERT_EQ(seen[0][epoch], std::vector<double>(lrs.begin(), lrs.end())) << "epoch " << epoch;
    reductions += job->metric_history(epoch).reduced();
  }
  EXPECT_GE(reductions, 2) << "the test should exercise reductions";
}

}  // namespace
}  // namespace lrsched
