// The drain with real processes: lrsched-server gets SIGTERM at seeded random
// points (at least 10 times) while workers are in the middle of their jobs,
// and starts again a moment later on the same state file and port, as a
// Kubernetes rollout does. The workers ride the restarts out and end with the
// very record (step -> learning rates, bit for bit) of a run that was never
// interrupted:
//   - WorkerSchedule clients in threads: a ReduceLROnPlateau job with three
//     ranks and a CyclicLR job read with a short look-ahead;
//   - lrsched-trainer under mpirun on a ReduceLROnPlateau job.
//
// Each restart waits until the ranks are at the chosen step, held there by
// one rank the test controls (so a worker can never run to its end before
// the restarts are done), then signals the server a seeded few milliseconds
// later, with the ranks' reports and parked Steps in flight.
//
// The restart points come from a seed printed at the start; set
// LRSCHED_RESTART_SEED to repeat a run.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "lrsched/client.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "lrsched/worker_schedule.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

namespace fs = std::filesystem;
using ::lrsched::testing::FromJson;
using ::lrsched::testing::ServerProcess;

constexpr int kRestarts = 12;
// Restart i happens at step kFirstHold + i * kSpacing + a seeded jitter below
// kSpacing.
constexpr int64_t kFirstHold = 2;
constexpr int64_t kSpacing = 5;
constexpr char kDrainTimeout[] = "2s";
constexpr char kPlateauSpec[] =
    R"({"reduce_lr_on_plateau": {"patience": 2, "factor": 0.5, "cooldown": 1}})";
constexpr char kCyclicSpec[] =
    R"({"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 7, "mode": "TRIANGULAR2"}})";

// Step -> learning rates, then momentums.
using Record = std::map<int64_t, std::vector<double>>;

uint64_t Seed() {
  uint64_t seed = std::random_device()();
  if (const char* fixed = std::getenv("LRSCHED_RESTART_SEED")) {
    EXPECT_TRUE(absl::SimpleAtoi(fixed, &seed)) << fixed;
  }
  std::printf("restart test seed: %llu (LRSCHED_RESTART_SEED=%llu repeats it)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  return seed;
}

// The workers' client, tuned to come back quickly. It must not give up
// before the restarts are over; a worker that fails stops the test well
// before then (see Workers).
ClientOptions FastRetries(const std::string& address) {
  ClientOptions options;
  options.target = address;
  options.call_timeout = absl::Seconds(5);
  options.step_wait = absl::Seconds(5);
  options.initial_backoff = absl::Milliseconds(20);
  options.max_backoff = absl::Milliseconds(100);
  options.give_up_after = absl::Seconds(60);
  return options;
}

// lrsched-server on a state file, restarted with SIGTERM on the same port.
class RestartingServer {
 public:
  explicit RestartingServer(std::string state) : state_(std::move(state)) { Start(0); }

  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  // SIGTERM, then `after_signal` (the server drains meanwhile); the server
  // must exit 0 within its drain timeout (and a margin for a loaded
  // machine); then it starts again.
  ::testing::AssertionResult Restart(const std::function<void()>& after_signal) {
    process_->Signal(SIGTERM);
    after_signal();
    const int exit_status = process_->WaitForExit(absl::Seconds(20));
    if (exit_status != 0) {
      return ::testing::AssertionFailure() << "after SIGTERM the server exited " << exit_status;
    }
    Start(port_);
    if (process_->port() != port_) {
      return ::testing::AssertionFailure() << "the server did not start again on " << port_;
    }
    return ::testing::AssertionSuccess();
  }

 private:
  void Start(int port) {
    process_ = std::make_unique<ServerProcess>(
        LRSCHED_SERVER_BINARY,
        std::vector<std::string>{absl::StrCat("--listen=127.0.0.1:", port), "--state=" + state_,
                                 "--handed_out_chunk=16", "--log_level=error",
                                 absl::StrCat("--drain_timeout=", kDrainTimeout)});
    port_ = process_->port();
  }

  const std::string state_;
  std::unique_ptr<ServerProcess> process_;
  int port_ = 0;
};

// Where the test lets each worker go, and how far each got. A worker passes
// step t only while its limit is above t; Fail() opens every gate.
class Gates {
 public:
  static constexpr int64_t kOpen = std::numeric_limits<int64_t>::max();

  explicit Gates(int workers) : limits_(workers, kOpen), reached_(workers, -1) {}

  void Set(int worker, int64_t limit) {
    absl::MutexLock lock(&mu_);
    limits_[worker] = limit;
  }
  void OpenAll() {
    absl::MutexLock lock(&mu_);
    for (int64_t& limit : limits_) limit = kOpen;
  }
  // A worker: blocks until it may pass `step`.
  void Pass(int worker, int64_t step) {
    absl::MutexLock lock(&mu_);
    const auto may_pass = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !failure_.ok() || limits_[worker] > step;
    };
    mu_.Await(absl::Condition(&may_pass));
  }
  void Reached(int worker, int64_t step) {
    absl::MutexLock lock(&mu_);
    reached_[worker] = step;
  }
  // The first failure of a worker is kept; every gate opens.
  void Fail(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (failure_.ok()) failure_ = status;
  }
  // Blocks until `worker` reached `step`; false if a worker failed first.
  bool AwaitReached(int worker, int64_t step) {
    absl::MutexLock lock(&mu_);
    const auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !failure_.ok() || reached_[worker] >= step;
    };
    mu_.Await(absl::Condition(&done));
    return failure_.ok();
  }
  absl::Status failure() {
    absl::MutexLock lock(&mu_);
    return failure_;
  }

 private:
  absl::Mutex mu_;
  std::vector<int64_t> limits_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> reached_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
};

// What one worker thread does: steps 0..last of a job; with a metric, it
// reports it after each step, and its gate holds it before the report (so
// the other ranks wait in a parked Step for it); without, its gate holds it
// before the step.
struct WorkerPlan {
  std::string job;
  int rank = 0;
  int64_t look_ahead = 1000;
  int64_t last_step = 0;
  std::function<double(int64_t step)> metric;  // empty: reports nothing
  double weight = 1;
};

void RunWorker(const std::string& address, const WorkerPlan& plan, Gates& gates, int index,
               Record* record) {
  Client client(FastRetries(address));
  WorkerSchedule schedule(client, plan.job, plan.rank, plan.look_ahead);
  const std::string who = absl::StrCat("job ", plan.job, " rank ", plan.rank, " (worker ", index, ")");
  for (int64_t step = 0; step <= plan.last_step; ++step) {
    if (!plan.metric) gates.Pass(index, step);
    auto rates = schedule.Step();
    if (!rates.ok()) {
      gates.Fail(absl::Status(rates.status().code(),
                              absl::StrCat(who, " Step ", step, ": ", rates.status().ToString())));
      return;
    }
    if (rates->step != step) {
      gates.Fail(absl::InternalError(absl::StrCat(who, " got step ", rates->step, " for ", step)));
      return;
    }
    std::vector<double>& values = (*record)[step];
    values = rates->lrs;
    values.insert(values.end(), rates->momentums.begin(), rates->momentums.end());
    gates.Reached(index, step);
    if (!plan.metric) continue;
    gates.Pass(index, step);
    auto reported = schedule.ReportMetric(plan.metric(step), plan.weight);
    if (!reported.ok()) {
      gates.Fail(absl::Status(
          reported.status().code(),
          absl::StrCat(who, " ReportMetric ", step, ": ", reported.status().ToString())));
      return;
    }
  }
}

// Worker threads. A test that stops early (a failed assertion) deletes the
// jobs, so that workers waiting on them end at once with NOT_FOUND, and then
// joins them.
class Workers {
 public:
  Workers(std::string address, Gates& gates, std::vector<std::string> jobs)
      : address_(std::move(address)), gates_(gates), jobs_(std::move(jobs)) {}
  ~Workers() {
    if (threads_.empty()) return;
    gates_.Fail(absl::AbortedError("the test stopped"));
    Client admin(FastRetries(address_));
    for (const std::string& job : jobs_) admin.DeleteJob(job).IgnoreError();
    Join();
  }

  void Start(std::function<void()> work) { threads_.emplace_back(std::move(work)); }
  void Join() {
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  const std::string address_;
  Gates& gates_;
  const std::vector<std::string> jobs_;
  std::vector<std::thread> threads_;
};

// kRestarts times: holds the worker `pick_laggard` names before its report
// of a seeded step, waits until it is there, lets a seeded few milliseconds
// pass and restarts the server; the laggard is let go at a seeded moment,
// during the drain or after the restart. `before_restart` runs just before
// each SIGTERM.
::testing::AssertionResult RestartAtRandom(RestartingServer& server, Gates& gates,
                                           std::mt19937_64& random,
                                           const std::function<int()>& pick_laggard,
                                           const std::function<void(int)>& before_restart) {
  std::uniform_int_distribution<int64_t> jitter(0, kSpacing - 1);
  std::uniform_int_distribution<int> delay_ms(0, 15);
  std::bernoulli_distribution release_during_drain(0.5);
  for (int restart = 0; restart < kRestarts; ++restart) {
    const int64_t hold = kFirstHold + restart * kSpacing + jitter(random);
    const int laggard = pick_laggard();
    gates.Set(laggard, hold);
    if (!gates.AwaitReached(laggard, hold)) {
      return ::testing::AssertionFailure() << "before restart " << restart + 1 << ": "
                                           << gates.failure();
    }
    // Not a synchronisation: where in the ranks' next calls the signal lands.
    absl::SleepFor(absl::Milliseconds(delay_ms(random)));
    before_restart(restart);
    const bool early = release_during_drain(random);
    if (auto restarted = server.Restart([&] {
          if (early) gates.Set(laggard, Gates::kOpen);
        });
        !restarted) {
      return restarted << " (restart " << restart + 1 << ")";
    }
    if (!early) gates.Set(laggard, Gates::kOpen);
  }
  return ::testing::AssertionSuccess();
}

double PlateauLoss(int rank, int64_t step) {
  return std::max(0.5, 3.0 - 0.1 * static_cast<double>(step)) + 0.001 * rank;
}

class SigtermRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/lrsched-sigterm-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    directory_ = pattern;
  }
  void TearDown() override { fs::remove_all(directory_); }

  fs::path directory_;
};

// The thread workers of both jobs against `server`, restarted kRestarts
// times when `restarts`; their records by worker.
constexpr int kPlateauRanks = 3;
constexpr int kCyclicWorkers = 2;
constexpr int64_t kPlateauLastStep = kFirstHold + kRestarts * kSpacing + 8;
constexpr int64_t kCyclicLastStep = 400;

std::vector<Record> RunThreadWorkers(RestartingServer& server, std::mt19937_64* random) {
  const std::string address = server.address();
  Client admin(FastRetries(address));
  v1::CreateJobRequest plateau = FromJson<v1::CreateJobRequest>(
      R"({"job_id": "plateau", "base_lrs": [0.1, 0.05], "world_size": 3})");
  *plateau.mutable_spec() = FromJson<v1::SchedulerSpec>(kPlateauSpec);
  v1::CreateJobRequest cyclic = FromJson<v1::CreateJobRequest>(
      R"({"job_id": "cyclic", "base_lrs": [0.1], "world_size": 1})");
  *cyclic.mutable_spec() = FromJson<v1::SchedulerSpec>(kCyclicSpec);
  EXPECT_TRUE(admin.CreateJob(plateau).ok());
  EXPECT_TRUE(admin.CreateJob(cyclic).ok());

  Gates gates(kPlateauRanks + kCyclicWorkers);
  std::vector<Record> records(kPlateauRanks + kCyclicWorkers);
  {
    Workers workers(address, gates, {"plateau", "cyclic"});
    for (int worker = 0; worker < kPlateauRanks + kCyclicWorkers; ++worker) {
      WorkerPlan plan;
      if (worker < kPlateauRanks) {
        plan.job = "plateau";
        plan.rank = worker;
        plan.last_step = kPlateauLastStep;
        plan.metric = [rank = worker](int64_t step) { return PlateauLoss(rank, step); };
      } else {
        plan.job = "cyclic";
        plan.look_ahead = 10;
        plan.last_step = kCyclicLastStep;
        // Held at the first step until the restarts begin to move it.
        if (random != nullptr) gates.Set(worker, 1);
      }
      workers.Start([&, plan, worker] { RunWorker(address, plan, gates, worker, &records[worker]); });
    }
    if (random != nullptr) {
      std::uniform_int_distribution<int> rank(0, kPlateauRanks - 1);
      std::uniform_int_distribution<int64_t> cyclic_jitter(0, 20);
      EXPECT_TRUE(RestartAtRandom(
          server, gates, *random, [&] { return rank(*random); },
          [&](int restart) {
            // The cyclic readers move on to a seeded step of their own.
            const int64_t limit =
                (restart + 1) * (kCyclicLastStep - 40) / kRestarts + cyclic_jitter(*random);
            for (int worker = kPlateauRanks; worker < kPlateauRanks + kCyclicWorkers; ++worker) {
              gates.Set(worker, limit);
            }
          }));
      // Workers may wait for one that failed: ~Workers ends them.
      if (::testing::Test::HasFailure()) return records;
    }
    gates.OpenAll();
    workers.Join();
  }
  EXPECT_TRUE(gates.failure().ok()) << gates.failure();
  return records;
}

TEST_F(SigtermRestartTest, WorkerSchedulesRideOutSigtermRestartsWithUninterruptedValues) {
  std::mt19937_64 random(Seed());
  std::vector<Record> uninterrupted;
  {
    RestartingServer server((directory_ / "uninterrupted.db").string());
    ASSERT_GT(server.port(), 0);
    uninterrupted = RunThreadWorkers(server, nullptr);
  }
  ASSERT_FALSE(HasFailure());
  RestartingServer server((directory_ / "restarted.db").string());
  ASSERT_GT(server.port(), 0);
  const absl::Time start = absl::Now();
  const std::vector<Record> restarted = RunThreadWorkers(server, &random);
  ASSERT_FALSE(HasFailure());
  for (size_t worker = 0; worker < restarted.size(); ++worker) {
    ASSERT_EQ(restarted[worker].size(),
              static_cast<size_t>(worker < kPlateauRanks ? kPlateauLastStep : kCyclicLastStep) + 1);
    EXPECT_EQ(restarted[worker], uninterrupted[worker]) << "worker " << worker;
  }
  std::printf("%d SIGTERM restarts in %s\n", kRestarts,
              absl::FormatDuration(absl::Now() - start).c_str());
}

// lrsched-trainer's files: PREFIX.rank<r>.csv (the rates of each epoch) and
// PREFIX.rank<r>.bin (the final weights).
std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

constexpr int kTrainerRanks = 3;
constexpr int kEpochs = kFirstHold + kRestarts * kSpacing + 10;
constexpr char kTrainerPlateau[] = R"({"reduce_lr_on_plateau": {"patience": 1, "factor": 0.5}})";

// Runs the trainer under mpirun on `job`; returns its exit status. A rank
// that fails leaves the others waiting in MPI, and mpirun may not end then
// even on SIGTERM: `timeout` ends it, by SIGKILL if need be.
int Train(const std::string& address, const std::string& job, const fs::path& prefix) {
  const std::string command = absl::StrCat(
      "timeout -k 5 90 ", MPIEXEC, " --oversubscribe --bind-to none -np ", kTrainerRanks, " ",
      LRSCHED_TRAINER_BINARY, " --server=", address, " --job=", job, " '--spec=",
      kTrainerPlateau, "' --epochs=", kEpochs,
      " --noise=4 --samples=1500 --hidden=8 --trace_out=", prefix.string(),
      " --weights_out=", prefix.string(), " > ", prefix.string(), ".out 2>&1");
  return std::system(command.c_str());
}

TEST_F(SigtermRestartTest, MpiTrainerRidesOutSigtermRestartsBitForBit) {
  // mpirun refuses root without these; CI runs as root.
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  // Under AddressSanitizer, OpenMPI's own allocations kept until exit are
  // not lrsched's leaks.
  setenv("ASAN_OPTIONS", "detect_leaks=0", 0);
  std::mt19937_64 random(Seed());
  RestartingServer server((directory_ / "state.db").string());
  ASSERT_GT(server.port(), 0);
  const std::string address = server.address();

  const fs::path reference = directory_ / "uninterrupted";
  ASSERT_EQ(Train(address, "uninterrupted", reference), 0) << Read(reference.string() + ".out");

  // The same job again, with one more rank that the test plays: it reports
  // with weight 0, which leaves every aggregate (a weighted mean) and so
  // every rate the same, and it holds the trainer's ranks where each restart
  // wants them.
  Client admin(FastRetries(address));
  auto job = admin.GetJob("uninterrupted");
  ASSERT_TRUE(job.ok()) << job.status();
  v1::CreateJobRequest create;
  create.set_job_id("restarted");
  *create.mutable_spec() = job->spec();
  *create.mutable_base_lrs() = job->base_lrs();
  create.set_world_size(job->world_size());
  create.set_aggregation(job->aggregation());
  ASSERT_TRUE(admin.CreateJob(create).ok());
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::SetWorldSizeRequest request;
    request.set_job_id("restarted");
    request.set_world_size(kTrainerRanks + 1);
    v1::Job resized;
    const grpc::Status status = admin.stub().SetWorldSize(&context, request, &resized);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  Gates gates(1);
  const fs::path restarted = directory_ / "restarted";
  const absl::Time start = absl::Now();
  int trainer_status = -1;
  {
    Workers workers(address, gates, {"restarted"});
    WorkerPlan gate;
    gate.job = "restarted";
    gate.rank = kTrainerRanks;
    gate.last_step = kEpochs - 1;
    gate.metric = [](int64_t) { return 0.0; };
    gate.weight = 0;
    gates.Set(0, 0);
    Record ignored;
    workers.Start([&] { RunWorker(address, gate, gates, 0, &ignored); });
    workers.Start([&] {
      trainer_status = Train(address, "restarted", restarted);
      if (trainer_status != 0) {
        gates.Fail(absl::InternalError(
            absl::StrCat("lrsched-trainer exited with status ", trainer_status)));
      }
    });
    ASSERT_TRUE(RestartAtRandom(server, gates, random, [] { return 0; }, [](int) {}));
    gates.Set(0, Gates::kOpen);
    workers.Join();
  }
  ASSERT_TRUE(gates.failure().ok()) << gates.failure();
  ASSERT_EQ(trainer_status, 0) << Read(restarted.string() + ".out");
  for (int rank = 0; rank < kTrainerRanks; ++rank) {
    const std::string trace = Read(absl::StrCat(restarted.string(), ".rank", rank, ".csv"));
    EXPECT_EQ(std::count(trace.begin(), trace.end(), '\n'), kEpochs) << "rank " << rank;
    EXPECT_EQ(trace, Read(absl::StrCat(reference.string(), ".rank", rank, ".csv")))
        << "rank " << rank;
    EXPECT_EQ(Read(absl::StrCat(restarted.string(), ".rank", rank, ".bin")),
              Read(absl::StrCat(reference.string(), ".rank", rank, ".bin")))
        << "rank " << rank;
  }
  std::printf("%d SIGTERM restarts under %d trainer ranks, %d epochs, in %s\n", kRestarts,
              kTrainerRanks, kEpochs, absl::FormatDuration(absl::Now() - start).c_str());
}

}  // namespace
}  // namespace lrsched
