// Several replicas, one truth, with real processes: three etcd members and
// three lrsched-server replicas on loopback, and the workers of a plateau
// job, a warm-up-then-plateau job and a CyclicLR job with look-ahead, each
// worker dialling the replicas in its own order, so that their calls land on
// every replica. Meanwhile at least 30 faults at random: SIGKILL of the
// replica that leads, of a standby, of the etcd leader, of an etcd follower,
// of the leading replica and the etcd leader together, and SIGTERM rollouts
// of every replica in turn; each is started again after a while.
//
// In the end: the workers of each job saw the same values, equal to a run
// never interrupted; every acknowledged report is in the job's log in etcd;
// no value left beyond the durable handed-out step; no job is damaged, also
// after a restart of every replica. The longest stall of a worker's call is
// printed.
//
// The faults come from a seed printed at the start; LRSCHED_FAILOVER_SEED
// repeats a run.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lrsched/client.h"
#include "lrsched/worker_schedule.h"
#include "service/schedule/preview.h"
#include "service/schedule/schedule.h"
#include "service/store/etcd_event_store.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_directory.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::EtcdCluster;
using ::lrsched::testing::FromJson;
using ::lrsched::testing::ServerProcess;

constexpr int kReplicas = 3;
constexpr int kFaults = 30;
constexpr char kPrefix[] = "/failover";

struct JobUnderTest {
  const char* id;
  const char* spec;
  int ranks;
  int64_t look_ahead;
  // The workers never ask past it: TRIANGULAR2 ends after 1024 cycles.
  int64_t last_step = std::numeric_limits<int64_t>::max();
};
const JobUnderTest kJobs[] = {
    {"plateau", R"({"reduce_lr_on_plateau": {"patience": 2, "factor": 0.5, "cooldown": 1}})", 3, 0},
    {"warmup-plateau", R"({"sequential_lr": {"schedulers": [
        {"linear_lr": {"start_factor": 0.1, "total_iters": 5}},
        {"reduce_lr_on_plateau": {"patience": 2}}], "milestones": [5]}})",
     2, 0},
    {"cyclic",
     R"({"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 70,
        "mode": "TRIANGULAR2"}})",
     2, 40, 1024 * 140 - 1},
};

double Loss(int rank, int64_t step) {
  return std::max(0.5, 3.0 - 0.05 * static_cast<double>(step)) + 0.001 * rank;
}

ClientOptions Retrying(const std::string& target) {
  ClientOptions options;
  options.target = target;
  options.call_timeout = absl::Seconds(2);
  options.step_wait = absl::Seconds(2);
  options.initial_backoff = absl::Milliseconds(20);
  options.max_backoff = absl::Milliseconds(200);
  options.give_up_after = absl::Seconds(90);
  return options;
}

class Replicas {
 public:
  Replicas(const EtcdCluster& etcd, const testing::TempDirectory& directory)
      : etcd_(etcd), directory_(directory), processes_(kReplicas), ports_(kReplicas, 0) {
    for (int i = 0; i < kReplicas; ++i) Start(i);
  }
  void Start(int i) {
    processes_[i] = std::make_unique<ServerProcess>(
        LRSCHED_SERVER_BINARY,
        std::vector<std::string>{absl::StrCat("--listen=127.0.0.1:", ports_[i]),
                                 "--store=" + etcd_.StoreAddress(kPrefix), "--lease_ttl=2s",
                                 "--etcd_call_timeout=500ms", "--etcd_give_up_after=10s",
                                 "--handed_out_chunk=16", "--drain_timeout=1s"},
        directory_.File(absl::StrCat("replica", i, ".log")));
    ASSERT_GT(processes_[i]->port(), 0) << "replica " << i << " did not start";
    if (ports_[i] == 0) ports_[i] = processes_[i]->port();
    ASSERT_EQ(processes_[i]->port(), ports_[i]);
  }
  void Stop(int i, int signal) {
    if (processes_[i] == nullptr) return;
    processes_[i]->Signal(signal);
    const int status = processes_[i]->WaitForExit(absl::Seconds(20));
    EXPECT_EQ(status, signal == SIGKILL ? 128 + SIGKILL : 0) << "replica " << i << ":\n" << Log(i);
    processes_[i].reset();
  }
  bool running(int i) const { return processes_[i] != nullptr; }
  // The end of what a replica wrote to stderr.
  std::string Log(int i) const {
    std::ifstream in(directory_.File(absl::StrCat("replica", i, ".log")));
    std::stringstream text;
    text << in.rdbuf();
    const std::string all = text.str();
    return all.size() > 3000 ? all.substr(all.size() - 3000) : all;
  }
  std::string address(int i) const { return absl::StrCat("127.0.0.1:", ports_[i]); }
  int IndexOf(const std::string& address) const {
    for (int i = 0; i < kReplicas; ++i) {
      if (this->address(i) == address) return i;
    }
    return -1;
  }
  // Every replica, the first to dial being `first`.
  std::string Target(int first) const {
    std::vector<std::string> addresses;
    for (int i = 0; i < kReplicas; ++i) addresses.push_back(address((first + i) % kReplicas));
    return "ipv4:" + absl::StrJoin(addresses, ",");
  }

 private:
  const EtcdCluster& etcd_;
  const testing::TempDirectory& directory_;
  std::vector<std::unique_ptr<ServerProcess>> processes_;
  std::vector<int> ports_;
};

// A job's events as etcd holds them.
std::vector<v1::JobEvent> StoredEvents(const EtcdCluster& etcd, const std::string& job_id) {
  EtcdStoreOptions options;
  options.endpoints = etcd.endpoints();
  options.prefix = absl::StrCat(kPrefix, "/");
  auto store = EtcdEventStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  std::vector<v1::JobEvent> events;
  if (!store.ok()) return events;
  std::promise<void> loaded;
  (*store)->LoadJob(job_id, [&](absl::StatusOr<absl::Span<v1::JobEvent* const>> stored) {
    EXPECT_TRUE(stored.ok()) << stored.status();
    if (stored.ok()) {
      for (const v1::JobEvent* event : *stored) events.push_back(*event);
    }
    loaded.set_value();
  });
  loaded.get_future().wait();
  return events;
}

TEST(FailoverTest, ReplicasOnEtcdRideOutKillsOfReplicasAndMembers) {
  uint64_t seed = std::random_device()();
  if (const char* fixed = std::getenv("LRSCHED_FAILOVER_SEED")) absl::SimpleAtoi(fixed, &seed);
  std::printf("failover test seed: %llu (LRSCHED_FAILOVER_SEED=%llu repeats it)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::mt19937_64 random(seed);

  testing::TempDirectory directory;
  EtcdCluster etcd(3);
  ASSERT_TRUE(etcd.status().ok()) << etcd.status();
  Replicas replicas(etcd, directory);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  Client admin(Retrying(replicas.Target(0)));
  std::vector<v1::CreateJobRequest> requests;
  for (const JobUnderTest& job : kJobs) {
    v1::CreateJobRequest request;
    request.set_job_id(job.id);
    *request.mutable_spec() = FromJson<v1::SchedulerSpec>(job.spec);
    request.add_base_lrs(0.1);
    request.set_world_size(job.ranks);
    ASSERT_TRUE(admin.CreateJob(request).ok()) << job.id;
    requests.push_back(request);
  }

  // Workers run until told where to stop, once the faults are over.
  std::atomic<bool> faulting{true};
  std::vector<std::atomic<int64_t>> targets(std::size(kJobs));
  for (auto& target : targets) target = std::numeric_limits<int64_t>::max();
  absl::Mutex mu;
  // seen[job][rank]: step -> learning rates; reported: (job, rank, step).
  std::vector<std::vector<std::map<int64_t, std::vector<double>>>> seen(std::size(kJobs));
  std::set<std::tuple<size_t, int, int64_t>> reported;
  std::vector<int64_t> progress(std::size(kJobs), 0);
  absl::Duration longest_stall;
  std::vector<std::thread> workers;
  int worker_index = 0;
  for (size_t j = 0; j < std::size(kJobs); ++j) {
    seen[j].resize(static_cast<size_t>(kJobs[j].ranks));
    const bool takes_metric = kJobs[j].look_ahead == 0;
    for (int rank = 0; rank < kJobs[j].ranks; ++rank) {
      workers.emplace_back([&, j, rank, takes_metric, first = worker_index++ % kReplicas] {
        Client client(Retrying(replicas.Target(first)));
        WorkerSchedule schedule(client, kJobs[j].id, rank, kJobs[j].look_ahead);
        for (int64_t step = 0; step <= std::min(targets[j].load(), kJobs[j].last_step); ++step) {
          absl::Time started = absl::Now();
          auto rates = schedule.Step();
          ASSERT_TRUE(rates.ok()) << kJobs[j].id << " rank " << rank << ": " << rates.status();
          ASSERT_EQ(rates->step, step);
          absl::Duration stall = absl::Now() - started;
          if (takes_metric) {
            started = absl::Now();
            auto acknowledged = schedule.ReportMetric(Loss(rank, step));
            ASSERT_TRUE(acknowledged.ok())
                << kJobs[j].id << " rank " << rank << ": " << acknowledged.status();
            stall = std::max(stall, absl::Now() - started);
          }
          {
            absl::MutexLock lock(&mu);
            seen[j][static_cast<size_t>(rank)][step] = rates->lrs;
            if (takes_metric) reported.emplace(j, rank, step);
            progress[j] = std::max(progress[j], step);
            longest_stall = std::max(longest_stall, stall);
          }
          // Paced while the faults go on, so that they fall on every phase.
          if (faulting) absl::SleepFor(absl::Milliseconds(5));
        }
      });
    }
  }

  // The replica that serves the jobs, or -1 if none answers now.
  const auto leader = [&] {
    Client probe(Retrying(replicas.Target(0)));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    v1::GetJobRequest request;
    request.set_job_id("plateau");
    request.set_view(v1::JOB_VIEW_BASIC);
    v1::Job job;
    if (!probe.stub().GetJob(&context, request, &job).ok()) return -1;
    return replicas.IndexOf(job.served_by());
  };
  std::map<std::string, int> faults;
  int injected = 0;
  while (injected < kFaults && !::testing::Test::HasFatalFailure()) {
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(100, 1200)(random)));
    const int kind = static_cast<int>(random() % 6);
    const int leading = leader();
    const int any = static_cast<int>(random() % kReplicas);
    std::vector<int> replicas_down;
    std::vector<int> members_down;
    if (kind == 0) {
      replicas_down.push_back(leading >= 0 ? leading : any);
      ++faults["SIGKILL of the leading replica"];
    } else if (kind == 1) {
      ++faults["SIGKILL of a standby replica"];
      replicas_down.push_back(leading >= 0 ? (leading + 1) % kReplicas : any);
    } else if (kind == 2 || kind == 4) {
      const int member = etcd.Leader();
      if (member >= 0) members_down.push_back(member);
      ++faults[kind == 2 ? "SIGKILL of the etcd leader"
                         : "SIGKILL of the leading replica and the etcd leader"];
      if (kind == 4) replicas_down.push_back(leading >= 0 ? leading : any);
    } else if (kind == 3) {
      const int member_leader = etcd.Leader();
      members_down.push_back((member_leader >= 0 ? member_leader + 1 : any) % etcd.size());
      ++faults["SIGKILL of an etcd follower"];
    } else {
      // A rollout: each replica in turn stops (SIGTERM: drains, resigns) and
      // comes back before the next one goes.
      for (int i = 0; i < kReplicas; ++i) {
        replicas.Stop(i, SIGTERM);
        absl::SleepFor(absl::Milliseconds(100));
        replicas.Start(i);
        ASSERT_FALSE(::testing::Test::HasFatalFailure());
      }
      ++faults["SIGTERM rollout of every replica"];
      injected += kReplicas;
      continue;
    }
    for (int member : members_down) etcd.Stop(member, SIGKILL);
    for (int replica : replicas_down) replicas.Stop(replica, SIGKILL);
    injected += static_cast<int>(members_down.size() + replicas_down.size());
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(200, 1500)(random)));
    for (int member : members_down) ASSERT_TRUE(etcd.Restart(member).ok()) << etcd.Log(member);
    for (int replica : replicas_down) replicas.Start(replica);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }

  // A few more steps each, then stop.
  {
    absl::MutexLock lock(&mu);
    faulting = false;
    for (size_t j = 0; j < std::size(kJobs); ++j) targets[j] = progress[j] + 20;
  }
  for (auto& worker : workers) worker.join();
  ASSERT_FALSE(::testing::Test::HasFailure());

  for (size_t j = 0; j < std::size(kJobs); ++j) {
    SCOPED_TRACE(kJobs[j].id);
    // The same values for every worker...
    for (size_t rank = 1; rank < seen[j].size(); ++rank) ASSERT_EQ(seen[j][rank], seen[j][0]);
    const std::vector<v1::JobEvent> events = StoredEvents(etcd, kJobs[j].id);
    ASSERT_FALSE(events.empty());
    // ...every acknowledged report in the log, and no value beyond the
    // durable handed-out step...
    std::set<std::pair<int, int64_t>> stored_reports;
    std::map<int64_t, double> aggregated;
    int64_t handed_out = -1;
    for (const v1::JobEvent& event : events) {
      if (event.has_metric_reported()) {
        stored_reports.emplace(event.metric_reported().rank(), event.metric_reported().step());
        EXPECT_EQ(event.metric_reported().value(),
                  Loss(event.metric_reported().rank(), event.metric_reported().step()));
      }
      if (event.has_step_aggregated()) {
        aggregated[event.step_aggregated().metric().step()] =
            event.step_aggregated().metric().value();
      }
      if (event.has_handed_out_raised()) {
        handed_out = std::max(handed_out, event.handed_out_raised().step());
      }
    }
    // Reports of warm-up steps decide nothing and are not kept.
    auto schedule = Schedule::Create(requests[j].spec(), requests[j].base_lrs());
    ASSERT_TRUE(schedule.ok()) << schedule.status();
    for (const auto& [job, rank, step] : reported) {
      if (job != j || step < schedule->first_metric_step()) continue;
      EXPECT_EQ(stored_reports.count({rank, step}), 1u) << "rank " << rank << " step " << step;
    }
    const int64_t last = seen[j][0].rbegin()->first;
    EXPECT_GE(handed_out, last);
    // ...and the values of a run never interrupted.
    std::vector<double> metrics;
    if (kJobs[j].look_ahead == 0) {
      for (int64_t step = 0; step < last; ++step) {
        if (step < schedule->first_metric_step()) {
          metrics.push_back(0);  // unused
          continue;
        }
        ASSERT_EQ(aggregated.count(step), 1u) << "step " << step;
        metrics.push_back(aggregated[step]);
      }
    }
    auto expected = Preview(requests[j].spec(), requests[j].base_lrs(), last, metrics);
    ASSERT_TRUE(expected.ok()) << expected.status();
    for (const auto& [step, lrs] : seen[j][0]) {
      ASSERT_EQ(lrs[0], expected->lrs[static_cast<size_t>(step)]) << "step " << step;
    }
  }

  // Every replica stopped at once, then one alone: it rebuilds every job
  // from etcd, none damaged.
  for (int i = 0; i < kReplicas; ++i) replicas.Stop(i, SIGKILL);
  replicas.Start(0);
  for (const JobUnderTest& job : kJobs) {
    auto fetched = admin.GetJob(job.id);
    ASSERT_TRUE(fetched.ok()) << job.id << ": " << fetched.status();
    EXPECT_EQ(fetched->damaged(), "") << job.id;
    EXPECT_EQ(fetched->served_by(), replicas.address(0));
  }
  std::vector<std::string> kinds;
  for (const auto& [kind, count] : faults) kinds.push_back(absl::StrCat(count, "x ", kind));
  std::printf(
      "%d faults (%s); steps: plateau %lld, warm-up %lld, cyclic %lld; "
      "longest stall of "
      "a call %s\n",
      injected, absl::StrJoin(kinds, ", ").c_str(), static_cast<long long>(progress[0]),
      static_cast<long long>(progress[1]), static_cast<long long>(progress[2]),
      absl::FormatDuration(longest_stall).c_str());
}

}  // namespace
}  // namespace lrsched
