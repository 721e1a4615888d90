// How long a restart takes: builds a state file of many ReduceLROnPlateau jobs
// through the real job and store code, then starts lrsched's server on it
// (open, replay every log, serve) several times and reports each start.
//
//   build/tests/bench/recovery_bench --jobs=10000 --events_per_job=1000 --runs=3
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "service/job/job.h"
#include "service/server/server.h"
#include "service/store/sqlite_event_store.h"

ABSL_FLAG(int, jobs, 10000, "Jobs in the state file.");
ABSL_FLAG(int, events_per_job, 1000, "Events in each job's log (about).");
ABSL_FLAG(int, runs, 3, "Server starts to time.");
ABSL_FLAG(std::string, directory, "",
          "Where to keep the state file (default: a temporary one, removed after); a state "
          "file already there is reused as it is.");

namespace lrsched {
namespace {

void BuildStateFile(const std::string& path, int jobs, int events_per_job) {
  SqliteStoreOptions store_options;
  store_options.full_sync = false;  // building the file is not what is measured
  auto store = SqliteEventStore::Open(path, store_options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    std::exit(1);
  }
  v1::JobCreated created;
  google::protobuf::util::JsonStringToMessage(
      R"({"spec": {"reduce_lr_on_plateau": {"patience": 3, "cooldown": 1}},
          "base_lrs": [0.1, 0.01], "world_size": 1, "aggregation": "WEIGHTED_MEAN"})",
      &created);
  JobOptions options;
  const auto ignore = [](absl::Status) {};
  for (int j = 0; j < jobs; ++j) {
    auto job = Job::Create(absl::StrCat("job-", j), created, absl::Now(), options, store->get());
    // Each step records a report, its aggregation and the handed-out step it
    // decided: train until the log is as long as asked.
    v1::Job view;
    for (int step = 0; view.last_sequence() < events_per_job; ++step) {
      v1::StepRequest request;
      request.set_step(step);
      v1::StepResponse response;
      (*job)->Step(request, &response, ignore, nullptr);
      v1::ReportMetricRequest report;
      report.set_step(step);
      report.set_value(1.0 + ((j * 31 + step * 17) % 100) * 0.001);
      report.set_weight(128);
      v1::ReportMetricResponse reported;
      (*job)->ReportMetric(report, &reported, ignore);
      view.Clear();
      (*job)->ToProto(v1::JOB_VIEW_BASIC, &view);
    }
    if (j % 1000 == 999) (*store)->Flush();
  }
  (*store)->Flush();
}

}  // namespace
}  // namespace lrsched

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string directory = absl::GetFlag(FLAGS_directory);
  if (directory.empty()) {
    char pattern[] = "/tmp/lrsched-recovery-XXXXXX";
    directory = mkdtemp(pattern);
  }
  const std::string path = directory + "/state.db";
  const int jobs = absl::GetFlag(FLAGS_jobs);
  const int events = absl::GetFlag(FLAGS_events_per_job);
  if (!std::filesystem::exists(path)) {
    const absl::Time build_start = absl::Now();
    lrsched::BuildStateFile(path, jobs, events);
    std::printf("built %s: %d jobs, ~%d events each, %.1f MB, in %s\n", path.c_str(), jobs,
                events, std::filesystem::file_size(path) / 1e6,
                absl::FormatDuration(absl::Now() - build_start).c_str());
  }

  std::vector<double> seconds;
  for (int run = 0; run < absl::GetFlag(FLAGS_runs); ++run) {
    lrsched::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.state = path;
    const absl::Time start = absl::Now();
    auto server = lrsched::Server::Start(options);
    const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
    if (!server.ok()) {
      std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
      return 1;
    }
    seconds.push_back(elapsed);
    std::printf("run %d: started with %zu jobs in %.3f s (replay %.3f s)\n", run + 1,
                (*server)->recovered_jobs(), elapsed,
                absl::ToDoubleSeconds((*server)->recovery_time()));
    if ((*server)->recovered_jobs() != static_cast<size_t>(jobs)) return 1;
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf("median start: %.3f s for %d jobs x ~%d events\n", seconds[seconds.size() / 2],
              jobs, events);
  if (absl::GetFlag(FLAGS_directory).empty()) std::filesystem::remove_all(directory);
  return 0;
}
