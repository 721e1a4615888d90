// The durability guarantee with real processes: lrsched-server is killed with
// SIGKILL at random moments (at least 20 times) while workers drive a
// ReduceLROnPlateau job and a CyclicLR job with look-ahead, and restarted on
// the same state file. The workers retry through the outages. In the end every
// worker saw the same values, equal to a run that was never interrupted, and
// every acknowledged report is in the history.
//
// The kill points come from a seed printed at the start; set
// LRSCHED_CRASH_SEED to repeat a run.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "lrsched/client.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "lrsched/worker_schedule.h"
#include "service/schedule/preview.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::ServerProcess;

constexpr int kKills = 20;
constexpr int kPlateauRanks = 3;
constexpr int kCyclicWorkers = 2;
constexpr char kPlateauSpec[] =
    R"({"reduce_lr_on_plateau": {"patience": 2, "factor": 0.5, "cooldown": 1}})";
constexpr char kCyclicSpec[] =
    R"({"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 70, "mode": "TRIANGULAR2"}})";
// TRIANGULAR2 ends after 1024 cycles of 140 steps. The cyclic readers are not
// paced, so on a fast machine they would otherwise reach the end during the
// kills and be refused.
constexpr int64_t kCyclicLastStep = 1024 * 140 - 1;
// The plateau workers stop here at the latest, however fast the machine: the
// check reads the whole metric history back, and a job keeps only the last
// history_window (10,000) steps of it.
constexpr int64_t kPlateauLastStep = 9'000;

double Loss(int rank, int64_t step) {
  return std::max(0.5, 3.0 - 0.1 * static_cast<double>(step)) + 0.001 * rank;
}

// The workers' client: lrsched::Client retries through the outages, tuned to
// come back quickly.
ClientOptions FastRetries(const std::string& address) {
  ClientOptions options;
  options.target = address;
  options.call_timeout = absl::Seconds(2);
  options.step_wait = absl::Seconds(2);
  options.initial_backoff = absl::Milliseconds(20);
  options.max_backoff = absl::Milliseconds(100);
  options.give_up_after = absl::Seconds(60);
  return options;
}

std::string ServerBinary() { return LRSCHED_SERVER_BINARY; }

TEST(CrashRestartTest, KillNineAtRandomLosesNothingAndChangesNothing) {
  uint64_t seed = std::random_device()();
  if (const char* fixed = std::getenv("LRSCHED_CRASH_SEED")) absl::SimpleAtoi(fixed, &seed);
  std::printf("crash test seed: %llu (LRSCHED_CRASH_SEED=%llu repeats it)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::mt19937_64 random(seed);

  char pattern[] = "/tmp/lrsched-crash-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path directory = pattern;
  const std::string state = (directory / "state.db").string();

  auto server = std::make_unique<ServerProcess>(
      ServerBinary(), std::vector<std::string>{"--listen=127.0.0.1:0", "--state=" + state,
                                               "--handed_out_chunk=16", "--log_level=error"});
  const int port = server->port();
  ASSERT_GT(port, 0);
  const std::string address = absl::StrCat("127.0.0.1:", port);
  Client admin(FastRetries(address));
  v1::CreateJobRequest plateau = FromJson<v1::CreateJobRequest>(
      R"({"job_id": "plateau", "base_lrs": [0.1, 0.05], "world_size": 3})");
  *plateau.mutable_spec() = FromJson<v1::SchedulerSpec>(kPlateauSpec);
  v1::CreateJobRequest cyclic =
      FromJson<v1::CreateJobRequest>(R"({"job_id": "cyclic", "base_lrs": [0.1], "world_size": 1})");
  *cyclic.mutable_spec() = FromJson<v1::SchedulerSpec>(kCyclicSpec);
  ASSERT_TRUE(admin.CreateJob(plateau).ok());
  ASSERT_TRUE(admin.CreateJob(cyclic).ok());

  // Workers run until told where to stop, once the killing is over.
  std::atomic<int64_t> plateau_target{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> cyclic_target{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> cyclic_progress{0};
  absl::Mutex mu;
  std::vector<std::map<int64_t, std::vector<double>>> plateau_seen(kPlateauRanks);
  std::map<int64_t, std::vector<double>> cyclic_seen;
  int cyclic_conflicts = 0;
  std::vector<std::thread> workers;
  for (int rank = 0; rank < kPlateauRanks; ++rank) {
    workers.emplace_back([&, rank] {
      Client client(FastRetries(address));
      WorkerSchedule schedule(client, "plateau", rank);
      for (int64_t step = 0; step <= std::min(plateau_target.load(), kPlateauLastStep); ++step) {
        auto rates = schedule.Step();
        ASSERT_TRUE(rates.ok()) << rates.status();
        ASSERT_EQ(rates->step, step);
        plateau_seen[rank][step] = rates->lrs;
        auto reported = schedule.ReportMetric(Loss(rank, step));
        ASSERT_TRUE(reported.ok()) << reported.status();
      }
    });
  }
  for (int worker = 0; worker < kCyclicWorkers; ++worker) {
    workers.emplace_back([&] {
      Client client(FastRetries(address));
      WorkerSchedule schedule(client, "cyclic", 0, /*look_ahead=*/10);
      for (int64_t step = 0; step <= std::min(cyclic_target.load(), kCyclicLastStep); ++step) {
        auto rates = schedule.Step();
        ASSERT_TRUE(rates.ok()) << rates.status();
        absl::MutexLock lock(&mu);
        auto [it, inserted] = cyclic_seen.emplace(step, rates->lrs);
        if (!inserted && it->second != rates->lrs) ++cyclic_conflicts;
        cyclic_progress = std::max(cyclic_progress.load(), step);
      }
    });
  }

  std::uniform_int_distribution<int> uptime_ms(20, 150);
  for (int kill = 0; kill < kKills; ++kill) {
    absl::SleepFor(absl::Milliseconds(uptime_ms(random)));
    server->Signal(SIGKILL);
    ASSERT_EQ(server->WaitForExit(absl::Seconds(10)), 128 + SIGKILL);
    server = std::make_unique<ServerProcess>(
        ServerBinary(),
        std::vector<std::string>{absl::StrCat("--listen=127.0.0.1:", port), "--state=" + state,
                                 "--handed_out_chunk=16", "--log_level=error"});
    ASSERT_EQ(server->port(), port) << "the server did not come back after kill " << kill + 1;
  }
  // Let every worker finish a few steps past the last kill, then stop.
  auto before_stop = admin.GetJob("plateau");
  ASSERT_TRUE(before_stop.ok()) << before_stop.status();
  const int64_t decided = before_stop->decided_step();
  plateau_target = std::min(decided + 5, kPlateauLastStep);
  cyclic_target = cyclic_progress.load() + 30;
  for (auto& worker : workers) worker.join();

  // Every worker saw the same values of the plateau job...
  ASSERT_FALSE(plateau_seen[0].empty());
  for (int rank = 1; rank < kPlateauRanks; ++rank) ASSERT_EQ(plateau_seen[rank], plateau_seen[0]);
  // ...every acknowledged report is in the history, aggregated as reported...
  auto fetched = admin.GetJob("plateau");
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  const v1::Job& job = *fetched;
  const int64_t steps = plateau_target.load() + 1;
  ASSERT_GE(job.metric_history_size(), steps);
  std::vector<double> metrics;
  for (int64_t step = 0; step < steps; ++step) {
    const v1::AggregatedMetric& aggregated = job.metric_history(step);
    ASSERT_EQ(aggregated.step(), step);
    double sum = 0;
    for (int rank = 0; rank < kPlateauRanks; ++rank) sum += Loss(rank, step) * 1.0;
    ASSERT_EQ(aggregated.value(), sum / kPlateauRanks) << "step " << step;
    metrics.push_back(aggregated.value());
  }
  // ...and the values equal a run that was never interrupted.
  metrics.pop_back();
  auto uninterrupted = Preview(plateau.spec(), plateau.base_lrs(), steps - 1, metrics);
  ASSERT_TRUE(uninterrupted.ok()) << uninterrupted.status();
  for (const auto& [step, lrs] : plateau_seen[0]) {
    ASSERT_EQ(lrs[0], uninterrupted->lrs[2 * step]) << "step " << step;
    ASSERT_EQ(lrs[1], uninterrupted->lrs[2 * step + 1]) << "step " << step;
  }
  // The cyclic job: no value ever changed, and all equal the math.
  EXPECT_EQ(cyclic_conflicts, 0);
  const int64_t last = cyclic_seen.rbegin()->first;
  auto expected = Preview(cyclic.spec(), cyclic.base_lrs(), last, {});
  ASSERT_TRUE(expected.ok()) << expected.status();
  for (const auto& [step, lrs] : cyclic_seen) {
    ASSERT_EQ(lrs[0], expected->lrs[step]) << "step " << step;
  }
  std::printf(
      "%d kills; plateau job %lld steps (%d reductions), cyclic job %lld steps\n", kKills,
      static_cast<long long>(steps),
      static_cast<int>(std::count_if(job.metric_history().begin(), job.metric_history().end(),
                                     [](const auto& m) { return m.reduced(); })),
      static_cast<long long>(last + 1));
  server.reset();
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace lrsched
