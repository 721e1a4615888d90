// What lrsched's RPCs cost, next to what gRPC itself costs: starts
// lrsched-server, then runs a closed-loop load of asynchronous calls from the
// C++ client for each scenario, and in the same run the bare health check as
// the floor. Reports throughput, latency percentiles, the ratio to the floor
// and the server's CPU time per call (from /proc, so it does not depend on
// the load generator sharing the machine). With --h2load, the health check
// and a decided Step are also driven by h2load (nghttp2), an independent load
// generator.
//
//   build/tests/bench/rpc_bench --server=build/service/lrsched-server --runs=3
//
// With --etcd_members=N, a second server on an etcd store of N members
// (started by the bench) runs every scenario too, right after the first's,
// and the table gives both and their ratio. With --tls_certs=DIR
// (tests/testing/make_certs.sh DIR), the same with a server serving TLS and
// one serving TLS that requires a bearer token on every call.
//
// Scenarios:
//   health             grpc.health.v1.Health/Check, service ""
//   step_decided       Step of a step that is decided and handed out (cosine)
//   step_look_ahead    Step with --look_ahead following steps (101 values)
//   report_metric      ReportMetric that aggregates and decides (a durable write)
//   create_job         CreateJob (a durable write)
//   step_parked        step_decided while --parked Step calls wait on
//                      undecided steps of other jobs
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "tests/bench/load.h"
#include "tests/testing/etcd_cluster.h"

ABSL_FLAG(std::string, server, "", "The lrsched-server binary to start.");
ABSL_FLAG(std::string, sync, "full", "The server's --sync.");
ABSL_FLAG(std::vector<std::string>, server_flags, {},
          "More flags for the server, e.g. --server_flags=--metrics_listen=127.0.0.1:9464.");
ABSL_FLAG(std::vector<std::string>, scenarios,
          std::vector<std::string>({"health", "step_decided", "step_look_ahead", "report_metric",
                                    "create_job", "step_parked"}),
          "Scenarios to run, in order; health always runs first, as the floor.");
ABSL_FLAG(int, connections, 4, "TCP connections (channels) the calls are spread over.");
ABSL_FLAG(int, concurrency, 256, "Calls in flight at any time (closed loop).");
ABSL_FLAG(int, jobs, 64, "Jobs the Step scenarios spread over.");
ABSL_FLAG(int, workers, 4, "Workers (world size) of each job of the Step scenarios.");
ABSL_FLAG(int, look_ahead, 100, "look_ahead of step_look_ahead.");
ABSL_FLAG(int, parked, 10000, "Step calls parked during step_parked.");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "Load before measuring, per scenario.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "Measured load, per scenario.");
ABSL_FLAG(int, runs, 3, "Runs of every scenario; the table gives medians.");
ABSL_FLAG(std::string, h2load, "", "h2load binary: cross-check health and step_decided.");
ABSL_FLAG(int, h2load_requests, 200000, "Requests per h2load run.");
ABSL_FLAG(std::string, tls_certs, "",
          "A directory of tests/testing/make_certs.sh: also run every scenario on a server "
          "serving TLS (its server.pem), and on one serving TLS that requires a token "
          "(--auth_tokens_file); empty: plaintext only.");
ABSL_FLAG(int, etcd_members, 0,
          "Also run every scenario on a server whose store is etcd with this many members "
          "(Debian's /usr/bin/etcd, started here); 0: SQLite only.");

namespace lrsched::bench {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr absl::Duration kCallTimeout = absl::Seconds(60);
// Steps of each Step job handed out before the load: the server's default
// history window, so that none leaves it.
constexpr int kHandedOut = 10000;

template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  if (!google::protobuf::util::JsonStringToMessage(json, &message).ok()) Die("bad JSON: " + json);
  return message;
}

// One slot's call: a fresh context each time (gRPC does not reuse them), the
// request and response reused.
template <typename Request, typename Response>
struct Slot {
  std::unique_ptr<grpc::ClientContext> context;
  Request request;
  Response response;
  int64_t counter = 0;
  std::mt19937_64 random;

  grpc::ClientContext* NewContext(const std::string& token) {
    context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + kCallTimeout));
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    return context.get();
  }
};

class Bench {
 public:
  Bench(const std::string& target, pid_t server, int run,
        std::shared_ptr<grpc::ChannelCredentials> credentials, std::string token)
      : server_(server),
        run_(run),
        token_(std::move(token)),
        channels_(OpenChannels(target, absl::GetFlag(FLAGS_connections), credentials)) {
    for (const auto& channel : channels_) {
      stubs_.push_back(v1::SchedulerService::NewStub(channel));
      health_stubs_.push_back(Health::NewStub(channel));
    }
  }

  LoadResult Run(const std::string& scenario) {
    if (scenario == "health") return Health();
    if (scenario == "step_decided") return StepDecided("decided", 0);
    if (scenario == "step_look_ahead") return StepDecided("ahead", absl::GetFlag(FLAGS_look_ahead));
    if (scenario == "report_metric") return ReportMetric();
    if (scenario == "create_job") return CreateJob();
    if (scenario == "step_parked") return StepParked();
    Die("unknown scenario " + scenario);
  }

  // The request bodies h2load sends: health, and a Step like step_decided's.
  std::string HealthBody() const { return HealthCheckRequest().SerializeAsString(); }
  std::string StepBody() {
    CreateStepJobs("decided");
    v1::StepRequest request;
    request.set_job_id(JobId("decided", 0));
    request.set_step(500);
    return request.SerializeAsString();
  }

 private:
  v1::SchedulerService::Stub& Stub(int slot) { return *stubs_[slot % stubs_.size()]; }
  void Authorize(grpc::ClientContext* context) const {
    if (!token_.empty()) context->AddMetadata("authorization", "Bearer " + token_);
  }
  int slots() const { return absl::GetFlag(FLAGS_concurrency); }
  std::string JobId(const std::string& prefix, int job) const {
    return absl::StrCat(prefix, "-", run_, "-", job);
  }

  LoadResult Load(const IssueCall& issue) {
    return RunClosedLoop(slots(), absl::GetFlag(FLAGS_warmup), absl::GetFlag(FLAGS_duration),
                         server_, issue);
  }

  void Create(const std::string& id, const std::string& spec_json, int world_size) {
    auto request = FromJson<v1::CreateJobRequest>(
        absl::StrCat(R"({"base_lrs": [0.1], "spec": )", spec_json, "}"));
    request.set_job_id(id);
    request.set_world_size(world_size);
    grpc::ClientContext context;
    Authorize(&context);
    v1::Job job;
    const grpc::Status status = stubs_[0]->CreateJob(&context, request, &job);
    if (!status.ok() && status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      Die(absl::StrCat("CreateJob ", id, ": ", status.error_message()));
    }
  }

  // Metric-free jobs whose first kHandedOut steps are handed out (so durable)
  // before the load starts: the Steps measured are answered from memory.
  void CreateStepJobs(const std::string& prefix) {
    for (int j = 0; j < absl::GetFlag(FLAGS_jobs); ++j) {
      Create(JobId(prefix, j), R"({"cosine_annealing_lr": {"t_max": 100000}})",
             absl::GetFlag(FLAGS_workers));
      grpc::ClientContext context;
      Authorize(&context);
      v1::StepRequest request;
      request.set_job_id(JobId(prefix, j));
      request.set_look_ahead(kHandedOut - 1);
      v1::StepResponse response;
      const grpc::Status status = stubs_[0]->Step(&context, request, &response);
      if (!status.ok()) Die("Step: " + status.error_message());
    }
  }

  LoadResult Health() {
    std::vector<Slot<HealthCheckRequest, HealthCheckResponse>> calls(slots());
    return Load([&](int slot, std::function<void(const grpc::Status&)> done) {
      auto& call = calls[slot];
      health_stubs_[slot % health_stubs_.size()]->async()->Check(
          call.NewContext(token_), &call.request, &call.response, std::move(done));
    });
  }

  LoadResult StepDecided(const std::string& prefix, int look_ahead) {
    CreateStepJobs(prefix);
    const int jobs = absl::GetFlag(FLAGS_jobs);
    const int workers = absl::GetFlag(FLAGS_workers);
    std::vector<Slot<v1::StepRequest, v1::StepResponse>> calls(slots());
    for (int slot = 0; slot < slots(); ++slot) {
      calls[slot].request.set_job_id(JobId(prefix, slot % jobs));
      calls[slot].request.set_rank((slot / jobs) % workers);
      calls[slot].request.set_look_ahead(look_ahead);
      calls[slot].random.seed(slot);
    }
    return Load([&](int slot, std::function<void(const grpc::Status&)> done) {
      auto& call = calls[slot];
      // Steps whose look-ahead stays within the handed-out ones.
      call.request.set_step(static_cast<int64_t>(call.random() % (kHandedOut - look_ahead)));
      Stub(slot).async()->Step(call.NewContext(token_), &call.request, &call.response, std::move(done));
    });
  }

  // Each slot is the one worker of its own ReduceLROnPlateau job and reports
  // step after step: every report aggregates, decides the next step and is
  // written to the store before it is answered.
  LoadResult ReportMetric() {
    std::vector<Slot<v1::ReportMetricRequest, v1::ReportMetricResponse>> calls(slots());
    for (int slot = 0; slot < slots(); ++slot) {
      Create(JobId("plateau", slot), R"({"reduce_lr_on_plateau": {"patience": 2}})", 1);
      calls[slot].request.set_job_id(JobId("plateau", slot));
      calls[slot].request.set_weight(128);
    }
    return Load([&](int slot, std::function<void(const grpc::Status&)> done) {
      auto& call = calls[slot];
      call.request.set_step(call.counter);
      call.request.set_value(1.0 / static_cast<double>(1 + call.counter % 50));
      ++call.counter;
      Stub(slot).async()->ReportMetric(call.NewContext(token_), &call.request, &call.response,
                                       std::move(done));
    });
  }

  LoadResult CreateJob() {
    std::vector<Slot<v1::CreateJobRequest, v1::Job>> calls(slots());
    for (int slot = 0; slot < slots(); ++slot) {
      calls[slot].request = FromJson<v1::CreateJobRequest>(
          R"({"base_lrs": [0.1], "world_size": 8,
              "spec": {"cosine_annealing_lr": {"t_max": 100000}}})");
    }
    return Load([&](int slot, std::function<void(const grpc::Status&)> done) {
      auto& call = calls[slot];
      call.request.set_job_id(absl::StrCat("created-", run_, "-", slot, "-", call.counter++));
      Stub(slot).async()->CreateJob(call.NewContext(token_), &call.request, &call.response,
                                    std::move(done));
    });
  }

  // Parks --parked Steps on step 1 of two-worker ReduceLROnPlateau jobs whose
  // step 0 nobody reports, measures step_decided meanwhile, then reports the
  // metrics and checks that every parked Step is answered.
  LoadResult StepParked() {
    const int parked = absl::GetFlag(FLAGS_parked);
    const int per_job = 10;
    const int jobs = (parked + per_job - 1) / per_job;
    for (int j = 0; j < jobs; ++j) {
      Create(JobId("parked", j), R"({"reduce_lr_on_plateau": {}})", 2);
    }
    const ProcessStats idle = ReadProcessStats(server_);
    std::vector<Slot<v1::StepRequest, v1::StepResponse>> waiting(parked);
    std::atomic<int> answered_ok{0};
    absl::BlockingCounter answered(parked);
    for (int i = 0; i < parked; ++i) {
      auto& call = waiting[i];
      call.request.set_job_id(JobId("parked", i / per_job));
      call.request.set_rank(i % 2);
      call.request.set_step(1);
      Stub(i).async()->Step(call.NewContext(token_), &call.request, &call.response,
                            [&](grpc::Status status) {
                              if (status.ok()) answered_ok.fetch_add(1);
                              answered.DecrementCount();
                            });
    }
    // Wait until the server holds them all.
    for (int j = 0, seen = 0; seen < parked;) {
      grpc::ClientContext context;
      Authorize(&context);
      v1::GetJobRequest request;
      request.set_job_id(JobId("parked", j));
      v1::Job job;
      if (stubs_[0]->GetJob(&context, request, &job).ok() && job.waiting_steps() > 0) {
        seen += job.waiting_steps();
        ++j;
        if (j == jobs) break;
      } else {
        absl::SleepFor(absl::Milliseconds(10));
      }
    }
    const ProcessStats holding = ReadProcessStats(server_);
    LoadResult result = StepDecided("decided-parked", 0);
    parked_threads_ = {idle.threads, holding.threads};
    parked_memory_per_call_ =
        static_cast<double>(holding.resident_bytes - idle.resident_bytes) / parked;

    for (int j = 0; j < jobs; ++j) {
      for (int rank = 0; rank < 2; ++rank) {
        grpc::ClientContext context;
        Authorize(&context);
        auto request = FromJson<v1::ReportMetricRequest>(R"({"step": 0, "value": 1.0})");
        request.set_job_id(JobId("parked", j));
        request.set_rank(rank);
        v1::ReportMetricResponse response;
        stubs_[0]->ReportMetric(&context, request, &response);
      }
    }
    answered.Wait();
    if (answered_ok.load() != parked) {
      Die(absl::StrCat(parked - answered_ok.load(), " parked Steps were not answered OK"));
    }
    return result;
  }

 public:
  std::pair<int, int> parked_threads_;
  double parked_memory_per_call_ = 0;

 private:
  pid_t server_;
  int run_;
  // Sent with every call (a server with --auth_tokens_file); none when empty.
  const std::string token_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::SchedulerService::Stub>> stubs_;
  std::vector<std::unique_ptr<Health::Stub>> health_stubs_;
};

// h2load sends one gRPC message (a length-prefixed body) per request.
struct H2loadResult {
  double requests_per_second = 0;
  int64_t succeeded = 0;
  double server_cpu_us_per_call = 0;
};

H2loadResult RunH2load(const std::string& url, const std::string& message, pid_t server) {
  std::string body(5, '\0');
  const uint32_t size = message.size();
  for (int i = 0; i < 4; ++i) body[1 + i] = static_cast<char>(size >> (24 - 8 * i));
  body += message;
  char body_path[] = "/tmp/rpc_bench_body_XXXXXX";
  const int fd = mkstemp(body_path);
  if (fd < 0 || write(fd, body.data(), body.size()) != static_cast<ssize_t>(body.size())) {
    Die("cannot write the h2load body");
  }
  close(fd);
  const int connections = absl::GetFlag(FLAGS_connections);
  const std::string command = absl::StrCat(
      absl::GetFlag(FLAGS_h2load), " -n ", absl::GetFlag(FLAGS_h2load_requests), " -c ",
      connections, " -m ", absl::GetFlag(FLAGS_concurrency) / connections,
      " -H 'content-type: application/grpc' -H 'te: trailers' -d ", body_path, " ", url,
      " 2>&1");
  const ProcessStats before = ReadProcessStats(server);
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  pclose(pipe);
  const ProcessStats after = ReadProcessStats(server);
  unlink(body_path);
  H2loadResult result;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    // "finished in 2.01s, 49751.02 req/s, 2.56MB/s"
    if (absl::StartsWith(line, "finished in")) {
      std::vector<absl::string_view> parts = absl::StrSplit(line, absl::ByAnyChar(", "),
                                                            absl::SkipEmpty());
      if (parts.size() > 3) absl::SimpleAtod(parts[3], &result.requests_per_second);
    }
    // "requests: 100000 total, 100000 started, 100000 done, 100000 succeeded, ..."
    if (absl::StartsWith(line, "requests:")) {
      std::vector<absl::string_view> parts = absl::StrSplit(line, absl::ByAnyChar(", "),
                                                            absl::SkipEmpty());
      if (parts.size() > 7) absl::SimpleAtoi(parts[7], &result.succeeded);
    }
  }
  if (result.succeeded != absl::GetFlag(FLAGS_h2load_requests)) Die("h2load:\n" + output);
  result.server_cpu_us_per_call =
      (after.cpu_seconds - before.cpu_seconds) * 1e6 / static_cast<double>(result.succeeded);
  return result;
}

// Runs the next step of a job via grpc to check h2load's Step body is a
// valid call (h2load counts HTTP 200s, and gRPC errors are HTTP 200 too).
void CheckStepBody(const std::string& target, const std::string& body) {
  auto stub = v1::SchedulerService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  v1::StepRequest request;
  request.ParseFromString(body);
  grpc::ClientContext context;
  v1::StepResponse response;
  const grpc::Status status = stub->Step(&context, request, &response);
  if (!status.ok() || response.values_size() != 1) Die("h2load's Step body: " + status.error_message());
}

struct Row {
  std::vector<double> calls_per_second, ratio, p50, p90, p99, p999, cpu_us;
  int64_t errors = 0;
};

}  // namespace
}  // namespace lrsched::bench

int main(int argc, char** argv) {
  using namespace lrsched::bench;
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_server).empty()) Die("--server is required");
  std::vector<std::string> flags = {absl::StrCat("--sync=", absl::GetFlag(FLAGS_sync)),
                                    "--max_jobs=10000000", "--log_level=error",
                                    "--memory_budget=1000000000000000"};
  for (const auto& flag : absl::GetFlag(FLAGS_server_flags)) flags.push_back(flag);
  BenchServer server(absl::GetFlag(FLAGS_server), flags);
  // The same server on etcd: the store is the only difference.
  std::unique_ptr<lrsched::testing::EtcdCluster> etcd;
  std::unique_ptr<BenchServer> etcd_server;
  if (absl::GetFlag(FLAGS_etcd_members) > 0) {
    etcd = std::make_unique<lrsched::testing::EtcdCluster>(absl::GetFlag(FLAGS_etcd_members));
    if (!etcd->status().ok()) Die(etcd->status().ToString());
    std::vector<std::string> etcd_flags = flags;
    etcd_flags.push_back("--store=" + etcd->StoreAddress());
    etcd_server = std::make_unique<BenchServer>(absl::GetFlag(FLAGS_server), etcd_flags);
  }
  struct Target {
    std::string label;  // appended to the scenario's name
    std::string address;
    pid_t pid;
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    std::string token;
  };
  std::vector<Target> targets = {{"", server.target(), server.pid(), nullptr, ""}};
  if (etcd_server != nullptr) {
    targets.push_back({absl::StrCat(" (etcd x", absl::GetFlag(FLAGS_etcd_members), ")"),
                       etcd_server->target(), etcd_server->pid(), nullptr, ""});
  }
  // The same server serving TLS, and TLS with a token per call.
  std::unique_ptr<BenchServer> tls_server, token_server;
  const std::string certs = absl::GetFlag(FLAGS_tls_certs);
  if (!certs.empty()) {
    std::vector<std::string> tls_flags = flags;
    tls_flags.push_back(absl::StrCat("--tls_cert_file=", certs, "/server.pem"));
    tls_flags.push_back(absl::StrCat("--tls_key_file=", certs, "/server.key"));
    tls_server = std::make_unique<BenchServer>(absl::GetFlag(FLAGS_server), tls_flags);
    constexpr char kToken[] = "bench-operator-token-0123456789";
    const std::string tokens_file = absl::StrCat(certs, "/bench-tokens.yaml");
    std::FILE* out = std::fopen(tokens_file.c_str(), "w");
    if (out == nullptr) Die("cannot write " + tokens_file);
    std::fprintf(out,
                 "callers:\n  - {name: bench, role: operator, token: %s}\n"
                 "  - {name: other-1, role: worker, token: other-token-1-0123456789}\n"
                 "  - {name: other-2, role: viewer, token: other-token-2-0123456789}\n",
                 kToken);
    std::fclose(out);
    tls_flags.push_back("--auth_tokens_file=" + tokens_file);
    token_server = std::make_unique<BenchServer>(absl::GetFlag(FLAGS_server), tls_flags);
    grpc::SslCredentialsOptions roots;
    std::ifstream ca(absl::StrCat(certs, "/ca.pem"));
    std::stringstream pem;
    pem << ca.rdbuf();
    roots.pem_root_certs = pem.str();
    const auto credentials = grpc::SslCredentials(roots);
    targets.push_back({" (TLS)", tls_server->target(), tls_server->pid(), credentials, ""});
    targets.push_back(
        {" (TLS + token)", token_server->target(), token_server->pid(), credentials, kToken});
  }

  std::vector<std::string> scenarios = {"health"};
  for (const auto& scenario : absl::GetFlag(FLAGS_scenarios)) {
    if (scenario != "health") scenarios.push_back(scenario);
  }
  const bool h2load = !absl::GetFlag(FLAGS_h2load).empty();
  if (h2load) {
    scenarios.push_back("h2load health");
    scenarios.push_back("h2load step_decided");
  }
  std::map<std::string, Row> rows;
  std::vector<std::string> row_order;
  std::vector<std::pair<int, int>> parked_threads;
  std::vector<double> parked_bytes;

  std::printf("rpc_bench: %d connections, %d calls in flight, %d jobs x %d workers, "
              "%s warm-up + %s per scenario, %d runs, sync=%s\n",
              absl::GetFlag(FLAGS_connections), absl::GetFlag(FLAGS_concurrency),
              absl::GetFlag(FLAGS_jobs), absl::GetFlag(FLAGS_workers),
              absl::FormatDuration(absl::GetFlag(FLAGS_warmup)).c_str(),
              absl::FormatDuration(absl::GetFlag(FLAGS_duration)).c_str(),
              absl::GetFlag(FLAGS_runs), absl::GetFlag(FLAGS_sync).c_str());
  for (int run = 0; run < absl::GetFlag(FLAGS_runs); ++run) {
    for (const Target& on : targets) {
      const std::string& target = on.address;
      Bench bench(target, on.pid, run, on.credentials, on.token);
      double floor = 0;
      for (const std::string& scenario : scenarios) {
        LoadResult result;
        if (absl::StartsWith(scenario, "h2load")) {
          const bool step = absl::EndsWith(scenario, "step_decided");
          const std::string body = step ? bench.StepBody() : bench.HealthBody();
          if (on.credentials != nullptr) continue;  // h2load speaks plaintext here
          if (step) CheckStepBody(target, body);
          const H2loadResult h =
              RunH2load(absl::StrCat("http://", target,
                                     step ? "/lrsched.v1.SchedulerService/Step"
                                          : "/grpc.health.v1.Health/Check"),
                        body, on.pid);
          result.calls_per_second = h.requests_per_second;
          result.server_cpu_us_per_call = h.server_cpu_us_per_call;
          result.calls = h.succeeded;
        } else {
          result = bench.Run(scenario);
        }
        if (scenario == "health") floor = result.calls_per_second;
        if (scenario == "h2load health") floor = result.calls_per_second;
        if (scenario == "step_parked" && on.label.empty()) {
          parked_threads.push_back(bench.parked_threads_);
          parked_bytes.push_back(bench.parked_memory_per_call_);
        }
        const std::string name = scenario + on.label;
        if (rows.find(name) == rows.end()) row_order.push_back(name);
        Row& row = rows[name];
        row.calls_per_second.push_back(result.calls_per_second);
        row.ratio.push_back(result.calls_per_second / floor);
        row.p50.push_back(result.p50_us);
        row.p90.push_back(result.p90_us);
        row.p99.push_back(result.p99_us);
        row.p999.push_back(result.p999_us);
        row.cpu_us.push_back(result.server_cpu_us_per_call);
        row.errors += result.errors;
        std::printf("run %d %-30s %9.0f calls/s  x%.2f of health  p50 %7.0f us  p99 %7.0f us  "
                    "server %5.1f us CPU/call%s%s\n",
                    run + 1, name.c_str(), result.calls_per_second,
                    result.calls_per_second / floor, result.p50_us, result.p99_us,
                    result.server_cpu_us_per_call, result.errors ? "  ERRORS: " : "",
                    result.first_error.c_str());
        std::fflush(stdout);
      }
    }
  }
  scenarios = row_order;

  std::printf("\nmedians of %d runs (ratio: to the health check of the same run and load "
              "generator)\n\n",
              absl::GetFlag(FLAGS_runs));
  std::printf("| scenario | calls/s | x health | p50 us | p90 us | p99 us | p99.9 us | "
              "server CPU us/call |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  int64_t errors = 0;
  for (const std::string& scenario : scenarios) {
    const Row& row = rows[scenario];
    errors += row.errors;
    const bool h = absl::StartsWith(scenario, "h2load");
    std::printf("| %s | %.0f | %.2f | %s | %s | %s | %s | %.1f |\n", scenario.c_str(),
                Median(row.calls_per_second), Median(row.ratio),
                h ? "-" : absl::StrFormat("%.0f", Median(row.p50)).c_str(),
                h ? "-" : absl::StrFormat("%.0f", Median(row.p90)).c_str(),
                h ? "-" : absl::StrFormat("%.0f", Median(row.p99)).c_str(),
                h ? "-" : absl::StrFormat("%.0f", Median(row.p999)).c_str(),
                Median(row.cpu_us));
  }
  if (!certs.empty()) {
    std::printf("\n| scenario | TLS / plaintext, calls/s | TLS + token / plaintext | "
                "server CPU us/call: plaintext, TLS, TLS + token |\n"
                "| --- | ---: | ---: | --- |\n");
    for (const std::string& scenario : scenarios) {
      const auto plain = rows.find(scenario);
      const auto tls = rows.find(scenario + " (TLS)");
      const auto token = rows.find(scenario + " (TLS + token)");
      if (plain == rows.end() || tls == rows.end() || token == rows.end()) continue;
      std::printf("| %s | %.2f | %.2f | %.1f, %.1f, %.1f |\n", scenario.c_str(),
                  Median(tls->second.calls_per_second) / Median(plain->second.calls_per_second),
                  Median(token->second.calls_per_second) / Median(plain->second.calls_per_second),
                  Median(plain->second.cpu_us), Median(tls->second.cpu_us),
                  Median(token->second.cpu_us));
    }
  }
  if (etcd_server != nullptr) {
    std::printf("\n| scenario | etcd / SQLite, calls/s |\n| --- | ---: |\n");
    for (const std::string& scenario : absl::GetFlag(FLAGS_scenarios)) {
      const auto sqlite = rows.find(scenario);
      const auto replicated = rows.find(scenario + targets[1].label);
      if (sqlite == rows.end() || replicated == rows.end()) continue;
      std::printf("| %s | %.2f |\n", scenario.c_str(),
                  Median(replicated->second.calls_per_second) /
                      Median(sqlite->second.calls_per_second));
    }
  }
  for (size_t i = 0; i < parked_threads.size(); ++i) {
    std::printf("\nstep_parked run %zu: %d parked Steps; server threads %d before, %d while "
                "they wait; %.0f bytes resident per parked call\n",
                i + 1, absl::GetFlag(FLAGS_parked), parked_threads[i].first,
                parked_threads[i].second, parked_bytes[i]);
  }
  if (errors > 0) {
    std::printf("%lld calls failed\n", static_cast<long long>(errors));
    return 1;
  }
  return 0;
}
