// Restarts keep every job of every scheduler family, with real processes: a
// job of each family (composites ending in ReduceLROnPlateau included) is
// driven by two workers through lrsched::WorkerSchedule while lrsched-server
// is stopped at random moments, by SIGKILL or by SIGTERM, and started again on
// the same store: a SQLite file, or an etcd member (started by the test) that
// outlives the server. Every restart must come up (one damaged job would stop
// it), and in the end both workers of each job saw the same values, equal bit
// for bit to the schedule run without interruption on the metrics they
// reported.
//
// The stop points come from a seed printed at the start; set
// LRSCHED_CRASH_SEED to repeat a run.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "lrsched/client.h"
#include "lrsched/worker_schedule.h"
#include "service/schedule/preview.h"
#include "service/schedule/schedule.h"
#include "service/store/etcd_event_store.h"
#include "service/store/sqlite_event_store.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::ServerProcess;

constexpr int kRestarts = 14;
constexpr int kWorkers = 2;
constexpr int64_t kSteps = 150;

struct Family {
  const char* name;
  const char* spec;
};
const Family kFamilies[] = {
    {"step", R"({"step_lr": {"step_size": 7, "gamma": 0.5}})"},
    {"multistep", R"({"multi_step_lr": {"milestones": [5, 20, 60], "gamma": 0.3}})"},
    {"exponential", R"({"exponential_lr": {"gamma": 0.97}})"},
    {"cosine", R"({"cosine_annealing_lr": {"t_max": 30, "eta_min": 0.001}})"},
    {"warm-restarts", R"({"cosine_annealing_warm_restarts": {"t_0": 5, "t_mult": 2}})"},
    {"cyclic", R"({"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 7,
        "mode": "TRIANGULAR2"}})"},
    {"linear", R"({"linear_lr": {"start_factor": 0.2, "total_iters": 20}})"},
    {"constant", R"({"constant_lr": {"factor": 0.5, "total_iters": 10}})"},
    {"polynomial", R"({"polynomial_lr": {"total_iters": 100, "power": 2}})"},
    {"one-cycle", R"({"one_cycle_lr": {"max_lr": [0.5], "total_steps": 200}})"},
    {"plateau", R"({"reduce_lr_on_plateau": {"patience": 2, "factor": 0.5, "cooldown": 1}})"},
    {"warmup-plateau", R"({"sequential_lr": {"schedulers": [
        {"linear_lr": {"start_factor": 0.1, "total_iters": 5}},
        {"reduce_lr_on_plateau": {"patience": 2}}], "milestones": [5]}})"},
    {"warmup-cosine", R"({"sequential_lr": {"schedulers": [
        {"constant_lr": {"factor": 0.5, "total_iters": 4}},
        {"cosine_annealing_lr": {"t_max": 40}}], "milestones": [4]}})"},
    {"chained", R"({"chained_scheduler": {"schedulers": [
        {"constant_lr": {"factor": 0.5, "total_iters": 8}},
        {"exponential_lr": {"gamma": 0.98}}]}})"},
};

// A loss that falls, then stalls, so that plateaus reduce.
double Loss(int rank, int64_t step) {
  return std::max(0.5, 3.0 - 0.1 * static_cast<double>(step)) + 0.001 * rank;
}

// A job's events as its log holds them, by sequence: read with the store
// itself, once the server is gone.
std::map<int64_t, std::string> StoredEvents(const std::string& store_address,
                                            const std::string& job_id) {
  std::unique_ptr<EventStore> store;
  absl::string_view rest = store_address;
  if (absl::ConsumePrefix(&rest, "sqlite:")) {
    auto sqlite = SqliteEventStore::Open(std::string(rest));
    EXPECT_TRUE(sqlite.ok()) << sqlite.status();
    if (sqlite.ok()) store = *std::move(sqlite);
  } else {
    EtcdStoreOptions options;
    options.endpoints = {std::string(absl::StripPrefix(rest, "etcd://"))};
    options.endpoints[0] = options.endpoints[0].substr(0, options.endpoints[0].find('/'));
    auto etcd = EtcdEventStore::Open(options);
    EXPECT_TRUE(etcd.ok()) << etcd.status();
    if (etcd.ok()) store = *std::move(etcd);
  }
  std::map<int64_t, std::string> events;
  if (store == nullptr) return events;
  std::promise<void> loaded;
  store->LoadJob(job_id, [&](absl::StatusOr<absl::Span<v1::JobEvent* const>> stored) {
    EXPECT_TRUE(stored.ok()) << stored.status();
    if (stored.ok()) {
      for (const v1::JobEvent* event : *stored) {
        events[event->sequence()] = event->SerializeAsString();
      }
    }
    loaded.set_value();
  });
  loaded.get_future().wait();
  return events;
}

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

std::vector<std::string> ServerArgs(const std::string& listen, const std::string& store) {
  return {"--listen=" + listen, "--store=" + store, "--handed_out_chunk=16", "--log_level=error",
          "--drain_timeout=2s"};
}

class RestartEveryFamilyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RestartEveryFamilyTest, KillAndTermAtRandomLoseNothingAndChangeNothing) {
  uint64_t seed = std::random_device()();
  if (const char* fixed = std::getenv("LRSCHED_CRASH_SEED")) absl::SimpleAtoi(fixed, &seed);
  std::printf("restart test seed: %llu (LRSCHED_CRASH_SEED=%llu repeats it)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::mt19937_64 random(seed);

  char pattern[] = "/tmp/lrsched-restart-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path directory = pattern;
  std::unique_ptr<testing::EtcdCluster> etcd;
  std::string state = "sqlite:" + (directory / "state.db").string();
  if (GetParam() == "etcd") {
    etcd = std::make_unique<testing::EtcdCluster>(1);
    ASSERT_TRUE(etcd->status().ok()) << etcd->status();
    // The store is etcd's default prefix (the server's), so that StoredEvents reads it.
    state = etcd->StoreAddress();
  }
  auto server =
      std::make_unique<ServerProcess>(LRSCHED_SERVER_BINARY, ServerArgs("127.0.0.1:0", state));
  const int port = server->port();
  ASSERT_GT(port, 0);
  const std::string address = absl::StrCat("127.0.0.1:", port);

  Client admin(FastRetries(address));
  std::vector<v1::CreateJobRequest> jobs;
  for (const Family& family : kFamilies) {
    v1::CreateJobRequest request;
    request.set_job_id(family.name);
    *request.mutable_spec() = FromJson<v1::SchedulerSpec>(family.spec);
    request.add_base_lrs(0.1);
    if (!request.spec().has_cyclic_lr() && !request.spec().has_one_cycle_lr()) {
      request.add_base_lrs(0.05);
    }
    request.set_world_size(kWorkers);
    ASSERT_TRUE(admin.CreateJob(request).ok()) << family.name;
    jobs.push_back(request);
  }

  // seen[job][rank]: step -> learning rates then momentums.
  std::vector<std::vector<std::map<int64_t, std::vector<double>>>> seen(
      jobs.size(), std::vector<std::map<int64_t, std::vector<double>>>(kWorkers));
  std::atomic<int> running{0};
  // The workers go no faster than the restarts: step s waits for restart
  // s * kRestarts / kSteps, so that every restart finds them mid-run and
  // the last step runs after the last restart, however fast the machine.
  std::atomic<int> restarted{0};
  std::vector<std::thread> workers;
  for (size_t j = 0; j < jobs.size(); ++j) {
    auto schedule = Schedule::Create(jobs[j].spec(), jobs[j].base_lrs());
    ASSERT_TRUE(schedule.ok());
    const bool takes_metric = schedule->takes_metric();
    const int64_t last = std::min(kSteps, schedule->last_step());
    const int64_t look_ahead = std::vector<int64_t>{0, 3, 1000}[random() % 3];
    for (int rank = 0; rank < kWorkers; ++rank) {
      ++running;
      workers.emplace_back([&, j, rank, takes_metric, last, look_ahead] {
        Client client(FastRetries(address));
        WorkerSchedule worker(client, jobs[j].job_id(), rank, look_ahead);
        for (int64_t step = 0; step <= last; ++step) {
          while (restarted.load() < step * kRestarts / kSteps) {
            absl::SleepFor(absl::Milliseconds(2));
          }
          auto rates = worker.Step();
          ASSERT_TRUE(rates.ok()) << jobs[j].job_id() << ": " << rates.status();
          ASSERT_EQ(rates->step, step);
          std::vector<double> values = rates->lrs;
          values.insert(values.end(), rates->momentums.begin(), rates->momentums.end());
          seen[j][rank][step] = values;
          if (takes_metric) {
            auto reported = worker.ReportMetric(Loss(rank, step));
            ASSERT_TRUE(reported.ok()) << jobs[j].job_id() << ": " << reported.status();
          }
        }
        --running;
      });
    }
  }

  // A watcher of the plateau jobs, resuming after each outage from the
  // sequence after the last event it got: every event it got must be the
  // one the log holds under that sequence in the end (never one that a
  // crash took back).
  std::map<std::string, std::map<int64_t, std::string>> watched;
  std::atomic<bool> watching{true};
  std::vector<std::thread> watchers;
  for (const char* job_id : {"plateau", "warmup-plateau"}) {
    watchers.emplace_back([&, job_id, events = &watched[job_id]] {
      Client client(FastRetries(address));
      int64_t next = 1;
      while (watching) {
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
        v1::WatchJobRequest request;
        request.set_job_id(job_id);
        request.set_from_sequence(next);
        auto reader = client.stub().WatchJob(&context, request);
        v1::JobEvent event;
        while (reader->Read(&event)) {
          EXPECT_EQ(event.sequence(), next) << job_id;
          next = event.sequence() + 1;
          (*events)[event.sequence()] = event.SerializeAsString();
        }
        // Out of a deadline's end, the server was down or refused: try
        // again a little later rather than spin through the outage.
        if (reader->Finish().error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
          absl::SleepFor(absl::Milliseconds(20));
        }
      }
    });
  }

  std::uniform_int_distribution<int> uptime_ms(10, 120);
  int kills = 0, terms = 0;
  for (int restart = 0; restart < kRestarts && running > 0; ++restart) {
    absl::SleepFor(absl::Milliseconds(uptime_ms(random)));
    const bool kill = random() % 2 == 0;
    server->Signal(kill ? SIGKILL : SIGTERM);
    ASSERT_EQ(server->WaitForExit(absl::Seconds(10)), kill ? 128 + SIGKILL : 0)
        << (kill ? "SIGKILL" : "SIGTERM") << " at restart " << restart + 1;
    (kill ? kills : terms)++;
    server = std::make_unique<ServerProcess>(LRSCHED_SERVER_BINARY,
                                             ServerArgs(absl::StrCat("127.0.0.1:", port), state));
    ASSERT_EQ(server->port(), port) << "the server did not come back after restart " << restart + 1;
    ++restarted;
  }
  EXPECT_EQ(kills + terms, kRestarts) << "the workers finished before the restarts";
  restarted = kRestarts;
  for (auto& worker : workers) worker.join();
  watching = false;
  for (auto& watcher : watchers) watcher.join();
  ASSERT_FALSE(::testing::Test::HasFailure());
  server.reset();
  for (const auto& [job_id, events] : watched) {
    EXPECT_GT(events.size(), 10u) << job_id;
    const std::map<int64_t, std::string> stored = StoredEvents(state, job_id);
    for (const auto& [sequence, event] : events) {
      auto it = stored.find(sequence);
      ASSERT_NE(it, stored.end()) << job_id << " event " << sequence << " was watched, not stored";
      ASSERT_EQ(it->second, event)
          << job_id << " event " << sequence << " was watched as another event than the one stored";
    }
  }
  server = std::make_unique<ServerProcess>(LRSCHED_SERVER_BINARY,
                                           ServerArgs(absl::StrCat("127.0.0.1:", port), state));

  for (size_t j = 0; j < jobs.size(); ++j) {
    SCOPED_TRACE(jobs[j].job_id());
    ASSERT_FALSE(seen[j][0].empty());
    for (int rank = 1; rank < kWorkers; ++rank) ASSERT_EQ(seen[j][rank], seen[j][0]);
    const int64_t last = seen[j][0].rbegin()->first;
    std::vector<double> metrics;
    auto schedule = Schedule::Create(jobs[j].spec(), jobs[j].base_lrs());
    if (schedule->takes_metric()) {
      for (int64_t step = 0; step < last; ++step) {
        double sum = 0;
        for (int rank = 0; rank < kWorkers; ++rank) sum += Loss(rank, step);
        metrics.push_back(sum / kWorkers);
      }
    }
    auto expected = Preview(jobs[j].spec(), jobs[j].base_lrs(), last, metrics);
    ASSERT_TRUE(expected.ok()) << expected.status();
    const size_t groups = expected->num_groups;
    for (const auto& [step, values] : seen[j][0]) {
      std::vector<double> want(expected->lrs.begin() + step * groups,
                               expected->lrs.begin() + (step + 1) * groups);
      if (!expected->momentums.empty()) {
        want.insert(want.end(), expected->momentums.begin() + step * groups,
                    expected->momentums.begin() + (step + 1) * groups);
      }
      ASSERT_EQ(values, want) << "step " << step;
    }
  }
  std::printf("%d SIGKILL and %d SIGTERM restarts; %zu jobs of every family agree\n", kills, terms,
              jobs.size());
  server.reset();
  std::filesystem::remove_all(directory);
}

INSTANTIATE_TEST_SUITE_P(Stores, RestartEveryFamilyTest, ::testing::Values("sqlite", "etcd"),
                         [](const ::testing::TestParamInfo<std::string>& store) {
                           return store.param;
                         });

}  // namespace
}  // namespace lrsched
