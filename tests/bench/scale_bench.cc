// How far one server goes: starts lrsched-server, creates --jobs idle jobs
// through the API (jobs created per second, resident memory per idle job),
// then gives --history_jobs of them --epochs epochs of ReduceLROnPlateau
// history (resident memory per job with that history).
//
//   build/tests/bench/scale_bench --server=build/service/lrsched-server --runs=3
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "tests/bench/load.h"

ABSL_FLAG(std::string, server, "", "The lrsched-server binary to start.");
ABSL_FLAG(std::string, sync, "full", "The server's --sync.");
ABSL_FLAG(int, jobs, 100000, "Idle jobs to create.");
ABSL_FLAG(int, history_jobs, 1000, "Jobs that then get metric history.");
ABSL_FLAG(int, epochs, 1000, "Epochs of history (one aggregated report each).");
ABSL_FLAG(int, connections, 4, "TCP connections the calls are spread over.");
ABSL_FLAG(int, concurrency, 256, "Calls in flight.");
ABSL_FLAG(int, runs, 3, "Runs, each with a fresh server.");

namespace lrsched::bench {
namespace {

// Runs `count` calls, --concurrency at a time: `issue(i, done)` starts call i.
void RunCount(int64_t count, const std::function<void(int64_t, std::function<void(
                                                                    const grpc::Status&)>)>& issue) {
  const int slots = static_cast<int>(std::min<int64_t>(absl::GetFlag(FLAGS_concurrency), count));
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> failed{0};
  absl::BlockingCounter finished(slots);
  std::function<void()> start = [&] {
    const int64_t i = next.fetch_add(1);
    if (i >= count) {
      finished.DecrementCount();
      return;
    }
    issue(i, [&](const grpc::Status& status) {
      if (!status.ok() && failed.fetch_add(1) == 0) {
        std::fprintf(stderr, "scale_bench: %s\n", status.error_message().c_str());
      }
      start();
    });
  };
  for (int slot = 0; slot < slots; ++slot) start();
  finished.Wait();
  if (failed.load() > 0) Die(absl::StrCat(failed.load(), " calls failed"));
}

struct RunResult {
  double jobs_per_second = 0;
  double idle_bytes_per_job = 0;
  double history_bytes_per_job = 0;
  int threads = 0;
};

RunResult RunOnce(int run) {
  const int jobs = absl::GetFlag(FLAGS_jobs);
  // What is measured is what idle jobs take; the budget charges each for its
  // full window (about 5 MB here), which would admit a few thousand.
  BenchServer server(absl::GetFlag(FLAGS_server),
                     {absl::StrCat("--sync=", absl::GetFlag(FLAGS_sync)),
                      absl::StrCat("--max_jobs=", jobs), "--log_level=error",
                      "--memory_budget=1000000000000000"});
  auto channels = OpenChannels(server.target(), absl::GetFlag(FLAGS_connections));
  std::vector<std::unique_ptr<v1::SchedulerService::Stub>> stubs;
  for (const auto& channel : channels) stubs.push_back(v1::SchedulerService::NewStub(channel));

  // One call's state per call index; a call's slot is not known here.
  struct Create {
    grpc::ClientContext context;
    v1::CreateJobRequest request;
    v1::Job response;
  };
  v1::CreateJobRequest prototype;
  google::protobuf::util::JsonStringToMessage(
      R"({"base_lrs": [0.1, 0.01], "world_size": 1,
          "spec": {"reduce_lr_on_plateau": {"patience": 3, "cooldown": 1}}})",
      &prototype);
  const ProcessStats empty = ReadProcessStats(server.pid());
  const absl::Time start = absl::Now();
  RunCount(jobs, [&](int64_t i, std::function<void(const grpc::Status&)> done) {
    auto* call = new Create;
    call->request = prototype;
    call->request.set_job_id(absl::StrCat("job-", i));
    stubs[i % stubs.size()]->async()->CreateJob(
        &call->context, &call->request, &call->response,
        [call, done = std::move(done)](grpc::Status status) {
          delete call;
          done(status);
        });
  });
  RunResult result;
  result.jobs_per_second = jobs / absl::ToDoubleSeconds(absl::Now() - start);
  const ProcessStats idle = ReadProcessStats(server.pid());
  result.idle_bytes_per_job =
      static_cast<double>(idle.resident_bytes - empty.resident_bytes) / jobs;

  // History: --concurrency chains of calls; each takes the next job and
  // reports its epochs one after the other (a report must follow the
  // aggregation of the one before), then the next job.
  const int history_jobs = std::min(absl::GetFlag(FLAGS_history_jobs), jobs);
  const int epochs = absl::GetFlag(FLAGS_epochs);
  struct Chain {
    v1::ReportMetricRequest request;
    v1::ReportMetricResponse response;
    std::unique_ptr<grpc::ClientContext> context;
  };
  const int chains = std::min(absl::GetFlag(FLAGS_concurrency), history_jobs);
  std::vector<Chain> chain_state(chains);
  std::atomic<int> next_job{0};
  std::atomic<int64_t> failed{0};
  absl::BlockingCounter finished(chains);
  std::function<void(int)> report = [&](int c) {
    Chain& chain = chain_state[c];
    if (chain.request.job_id().empty() || chain.request.step() + 1 == epochs) {
      const int job = next_job.fetch_add(1);
      if (job >= history_jobs) {
        finished.DecrementCount();
        return;
      }
      chain.request.set_job_id(absl::StrCat("job-", job));
      chain.request.set_step(0);
    } else {
      chain.request.set_step(chain.request.step() + 1);
    }
    chain.request.set_value(1.0 + static_cast<double>((chain.request.step() * 7919) % 1000) * 1e-4);
    chain.request.set_weight(128);
    chain.context = std::make_unique<grpc::ClientContext>();
    stubs[c % stubs.size()]->async()->ReportMetric(
        chain.context.get(), &chain.request, &chain.response, [&, c](grpc::Status status) {
          if (!status.ok() && failed.fetch_add(1) == 0) {
            std::fprintf(stderr, "scale_bench: %s\n", status.error_message().c_str());
          }
          report(c);
        });
  };
  for (int c = 0; c < chains; ++c) report(c);
  finished.Wait();
  if (failed.load() > 0) Die(absl::StrCat(failed.load(), " reports failed"));
  const ProcessStats history = ReadProcessStats(server.pid());
  result.history_bytes_per_job =
      result.idle_bytes_per_job +
      static_cast<double>(history.resident_bytes - idle.resident_bytes) / history_jobs;
  result.threads = history.threads;
  std::printf("run %d: %d jobs created in %.2f s (%.0f jobs/s); resident %.1f MB empty, "
              "%.1f MB with the jobs idle, %.1f MB after %d of them ran %d epochs: %.0f bytes "
              "per idle job, %.0f bytes per job with history; %d threads\n",
              run + 1, jobs, jobs / result.jobs_per_second, result.jobs_per_second,
              empty.resident_bytes / 1e6, idle.resident_bytes / 1e6,
              history.resident_bytes / 1e6, history_jobs, epochs, result.idle_bytes_per_job,
              result.history_bytes_per_job, result.threads);
  std::fflush(stdout);
  return result;
}

}  // namespace
}  // namespace lrsched::bench

int main(int argc, char** argv) {
  using namespace lrsched::bench;
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_server).empty()) Die("--server is required");
  std::vector<double> rate, idle, history;
  for (int run = 0; run < absl::GetFlag(FLAGS_runs); ++run) {
    const RunResult result = RunOnce(run);
    rate.push_back(result.jobs_per_second);
    idle.push_back(result.idle_bytes_per_job);
    history.push_back(result.history_bytes_per_job);
  }
  std::printf("\nmedians of %d runs, %d jobs, sync=%s\n\n| figure | value |\n| --- | ---: |\n"
              "| jobs created per second (CreateJob, durable) | %.0f |\n"
              "| resident bytes per idle job | %.0f |\n"
              "| resident bytes per job with %d epochs of history | %.0f |\n",
              absl::GetFlag(FLAGS_runs), absl::GetFlag(FLAGS_jobs),
              absl::GetFlag(FLAGS_sync).c_str(), Median(rate), Median(idle),
              absl::GetFlag(FLAGS_epochs), Median(history));
  return 0;
}
