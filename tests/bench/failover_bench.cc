// How long jobs go unserved when the replica that leads dies: three etcd
// members (started here), two lrsched-server replicas on them, and a client
// that knows both asking for the next step of a job again and again. The
// leader is killed (SIGKILL) --kills times; each time the bench measures
// from the kill to the next answered Step, then starts the killed replica
// again as a standby. Then the takeover of many jobs: --jobs jobs are
// created, the leader is killed once more, and the bench reports the time to
// the next answered Step and the new leader's own replay time (its log).
//
//   build/tests/bench/failover_bench --server=build/service/lrsched-server
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "tests/bench/load.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_directory.h"

ABSL_FLAG(std::string, server, "", "The lrsched-server binary to start.");
ABSL_FLAG(int, kills, 20, "Kills of the leading replica to time.");
ABSL_FLAG(int, lease_ttl_seconds, 5, "The replicas' --lease_ttl.");
ABSL_FLAG(int, jobs, 10000, "Jobs the last takeover rebuilds.");

namespace lrsched::bench {
namespace {

constexpr int kReplicas = 2;

class Replicas {
 public:
  Replicas(const testing::EtcdCluster& etcd, const testing::TempDirectory& directory)
      : etcd_(etcd), directory_(directory), processes_(kReplicas), ports_(kReplicas, 0) {
    for (int i = 0; i < kReplicas; ++i) Start(i);
  }
  void Start(int i) {
    processes_[i] = std::make_unique<testing::ServerProcess>(
        absl::GetFlag(FLAGS_server),
        std::vector<std::string>{
            absl::StrCat("--listen=127.0.0.1:", ports_[i]),
            "--store=" + etcd_.StoreAddress("/bench"),
            absl::StrCat("--lease_ttl=", absl::GetFlag(FLAGS_lease_ttl_seconds), "s"),
            "--max_jobs=10000000", "--memory_budget=1000000000000000"},
        Log(i));
    if (processes_[i]->port() == 0) Die("a replica did not start");
    ports_[i] = processes_[i]->port();
  }
  void Kill(int i) {
    processes_[i]->Signal(SIGKILL);
    processes_[i]->WaitForExit(absl::Seconds(10));
    processes_[i].reset();
  }
  std::string Log(int i) const { return directory_.File(absl::StrCat("replica", i, ".log")); }
  std::string address(int i) const { return absl::StrCat("127.0.0.1:", ports_[i]); }
  std::string target() const { return absl::StrCat("ipv4:", address(0), ",", address(1)); }
  int IndexOf(const std::string& address) const {
    for (int i = 0; i < kReplicas; ++i) {
      if (this->address(i) == address) return i;
    }
    return -1;
  }

 private:
  const testing::EtcdCluster& etcd_;
  const testing::TempDirectory& directory_;
  std::vector<std::unique_ptr<testing::ServerProcess>> processes_;
  std::vector<int> ports_;
};

// The replica that serves `job_id` now, or -1.
int Leader(v1::SchedulerService::Stub& stub, const Replicas& replicas, const std::string& job_id) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  request.set_view(v1::JOB_VIEW_BASIC);
  v1::Job job;
  if (!stub.GetJob(&context, request, &job).ok()) return -1;
  return replicas.IndexOf(job.served_by());
}

// Asks for steps of `job_id` one after another until stopped.
class Stepper {
 public:
  Stepper(std::shared_ptr<grpc::Channel> channel, std::string job_id)
      : stub_(v1::SchedulerService::NewStub(channel)), job_id_(std::move(job_id)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Stepper() {
    stop_ = true;
    thread_.join();
  }
  // When the first call sent after `after` was answered.
  absl::Time AnsweredAfter(absl::Time after) {
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (sent_ > after) return answered_;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
  }

 private:
  void Run() {
    int64_t step = 0;
    while (!stop_) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(250)));
      v1::StepRequest request;
      request.set_job_id(job_id_);
      request.set_step(step);
      v1::StepResponse response;
      const absl::Time sent = absl::Now();
      if (stub_->Step(&context, request, &response).ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        sent_ = sent;
        answered_ = absl::Now();
        ++step;
      } else {
        absl::SleepFor(absl::Milliseconds(1));
      }
    }
  }

  std::unique_ptr<v1::SchedulerService::Stub> stub_;
  const std::string job_id_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  absl::Time sent_ = absl::InfinitePast();
  absl::Time answered_ = absl::InfinitePast();
  std::thread thread_;
};

void CreateJob(v1::SchedulerService::Stub& stub, const std::string& job_id) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::CreateJobRequest request;
    request.set_job_id(job_id);
    request.mutable_spec()->mutable_cosine_annealing_lr()->set_t_max(1000000);
    request.add_base_lrs(0.1);
    v1::Job job;
    if (stub.CreateJob(&context, request, &job).ok()) return;
    absl::SleepFor(absl::Milliseconds(100));
  }
  Die("cannot create " + job_id);
}

// The replay time the new leader logged, in seconds, or -1.
double LoggedRecovery(const std::string& log) {
  std::ifstream in(log);
  std::string line;
  double seconds = -1;
  while (std::getline(in, line)) {
    const size_t at = line.find("recovery_seconds=");
    if (line.find("replica_leading") == std::string::npos || at == std::string::npos) continue;
    absl::SimpleAtod(line.substr(at + 17, line.find(' ', at) - at - 17), &seconds);
  }
  return seconds;
}

int Main() {
  if (absl::GetFlag(FLAGS_server).empty()) Die("--server is required");
  testing::TempDirectory directory;
  testing::EtcdCluster etcd(3);
  if (!etcd.status().ok()) Die(etcd.status().ToString());
  Replicas replicas(etcd, directory);
  // Reconnecting as lrsched::Client does: gRPC's default backoff (1 s,
  // growing) would be measured instead of the failover.
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  auto channel =
      grpc::CreateCustomChannel(replicas.target(), grpc::InsecureChannelCredentials(), arguments);
  auto stub = v1::SchedulerService::NewStub(channel);
  CreateJob(*stub, "steps");
  std::vector<double> failovers;
  {
    Stepper stepper(channel, "steps");
    for (int kill = 0; kill < absl::GetFlag(FLAGS_kills); ++kill) {
      stepper.AnsweredAfter(absl::Now() + absl::Milliseconds(500));
      const int leader = Leader(*stub, replicas, "steps");
      if (leader < 0) Die("no replica leads");
      const absl::Time killed = absl::Now();
      replicas.Kill(leader);
      const absl::Time answered = stepper.AnsweredAfter(absl::Now());
      failovers.push_back(absl::ToDoubleSeconds(answered - killed));
      std::printf(
          "kill %2d: the next Step answered %.2f s after the leader's "
          "SIGKILL\n",
          kill + 1, failovers.back());
      std::fflush(stdout);
      if (std::getenv("FAILOVER_BENCH_DEBUG") != nullptr) {
        std::ifstream in(replicas.Log(1 - leader));
        std::stringstream text;
        text << in.rdbuf();
        std::printf(
            "killed at %s\n%s\n", absl::FormatTime(killed).c_str(),
            text.str().substr(text.str().size() > 600 ? text.str().size() - 600 : 0).c_str());
      }
      replicas.Start(leader);
    }
  }
  std::vector<double> sorted = failovers;
  std::sort(sorted.begin(), sorted.end());
  std::printf(
      "\nfailover, %zu SIGKILLs of the leader, --lease_ttl=%ds: median %.2f s, "
      "worst %.2f s\n",
      sorted.size(), absl::GetFlag(FLAGS_lease_ttl_seconds), Median(failovers), sorted.back());

  const int jobs = absl::GetFlag(FLAGS_jobs);
  const absl::Time creating = absl::Now();
  std::vector<std::thread> creators;
  for (int t = 0; t < 8; ++t) {
    creators.emplace_back([&, t] {
      auto own = v1::SchedulerService::NewStub(channel);
      for (int j = t; j < jobs; j += 8) CreateJob(*own, absl::StrCat("job-", j));
    });
  }
  for (auto& creator : creators) creator.join();
  std::printf("%d jobs created in %.1f s\n", jobs, absl::ToDoubleSeconds(absl::Now() - creating));
  Stepper stepper(channel, absl::StrCat("job-", jobs - 1));
  stepper.AnsweredAfter(absl::Now() + absl::Milliseconds(200));
  const int leader = Leader(*stub, replicas, "steps");
  if (leader < 0) Die("no replica leads");
  const absl::Time killed = absl::Now();
  replicas.Kill(leader);
  const absl::Time answered = stepper.AnsweredAfter(absl::Now());
  absl::SleepFor(absl::Milliseconds(300));  // the log's writer thread
  std::printf(
      "takeover of %d jobs: the next Step answered %.2f s after the "
      "leader's SIGKILL; "
      "the new leader rebuilt them in %.2f s\n",
      jobs + 1, absl::ToDoubleSeconds(answered - killed), LoggedRecovery(replicas.Log(1 - leader)));
  return 0;
}

}  // namespace
}  // namespace lrsched::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return lrsched::bench::Main();
}
