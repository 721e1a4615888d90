// Writes the seed corpora of the fuzz targets into corpus/ (see README.md):
// valid requests of every RPC, previews of every scheduler family, job
// histories, and state files written by the SQLite store itself. Run by hand;
// its output is checked in.
//
//   make_seeds tests/fuzz/corpus
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "lrsched/v1/scheduler_service.pb.h"
#include "service/job/job.h"
#include "service/store/sqlite_event_store.h"
#include "tests/testing/job_driver.h"

namespace lrsched {
namespace {

namespace fs = std::filesystem;

// One request of every family, and the composites, with metrics where the
// schedule takes them.
const char* const kPreviews[] = {
    R"({"spec": {"step_lr": {"step_size": 3, "gamma": 0.5}}, "base_lrs": [0.1], "steps": 10})",
    R"({"spec": {"multi_step_lr": {"milestones": [2, 5, 5]}}, "base_lrs": [0.1, 0.2], "steps": 8})",
    R"({"spec": {"exponential_lr": {"gamma": 0.9}}, "base_lrs": [0.1], "steps": 10})",
    R"({"spec": {"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 3,
        "mode": "EXP_RANGE", "gamma": 0.9}}, "base_lrs": [0.1], "steps": 12})",
    R"({"spec": {"reduce_lr_on_plateau": {"patience": 1, "factor": 0.5, "cooldown": 1,
        "min_lr": [0.01]}}, "base_lrs": [0.1], "steps": 6, "metrics": [1, 0.9, 0.9, 0.9, 2, 2]})",
    R"({"spec": {"one_cycle_lr": {"max_lr": [0.5], "total_steps": 20, "three_phase": true,
        "anneal_strategy": "LINEAR"}}, "base_lrs": [0.1], "steps": 20})",
    R"({"spec": {"cosine_annealing_warm_restarts": {"t_0": 3, "t_mult": 2, "eta_min": 0.001}},
        "base_lrs": [0.1], "steps": 12})",
    R"({"spec": {"sequential_lr": {"schedulers": [{"linear_lr": {"start_factor": 0.1,
        "total_iters": 3}}, {"reduce_lr_on_plateau": {"patience": 0}}], "milestones": [3]}},
        "base_lrs": [0.1], "steps": 6, "metrics": [0, 0, 0, 1, 1, 1]})",
    R"({"spec": {"chained_scheduler": {"schedulers": [{"constant_lr": {"factor": 0.5,
        "total_iters": 2}}, {"polynomial_lr": {"total_iters": 6, "power": 2}},
        {"cosine_annealing_lr": {"t_max": 4}}]}}, "base_lrs": [0.1], "steps": 8})",
};

// One valid request of every RPC, in the request fuzzer's order.
const char* const kRequests[] = {
    R"({"job_id": "run-1", "spec": {"exponential_lr": {"gamma": 0.9}}, "base_lrs": [0.1],
        "world_size": 2, "aggregation": "MIN"})",
    R"({"job_id": "run-1", "view": "JOB_VIEW_FULL"})",
    R"({"page_size": 10, "page_token": "run-0"})",
    R"({"job_id": "run-1"})",
    R"({"job_id": "run-1", "rank": 1, "step": 12, "look_ahead": 100})",
    R"({"job_id": "run-1", "rank": 1, "step": 12, "value": 0.25, "weight": 64})",
    R"({"job_id": "run-1", "step": 40, "lrs": {"values": [0.01, 0.02]}})",
    R"({"job_id": "run-1", "world_size": 4})",
    R"({"job_id": "run-1", "from_sequence": 3})",
    R"({"spec": {"reduce_lr_on_plateau": {}}, "base_lrs": [0.1], "steps": 3,
        "metrics": [1, 1, 1]})",
};

template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", json.c_str(), status.ToString().c_str());
    std::exit(1);
  }
  return message;
}

void Write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

void WritePreviews(const fs::path& directory) {
  for (size_t i = 0; i < std::size(kPreviews); ++i) {
    Write(directory / absl::StrCat("preview-", i),
          FromJson<v1::PreviewScheduleRequest>(kPreviews[i]).SerializeAsString());
  }
}

void WriteRequests(const fs::path& directory) {
  size_t kind = 0;
  const auto write = [&](const google::protobuf::Message& request) {
    Write(directory / absl::StrCat("request-", kind),
          std::string(1, static_cast<char>(kind)) + request.SerializeAsString());
    ++kind;
  };
  write(FromJson<v1::CreateJobRequest>(kRequests[0]));
  write(FromJson<v1::GetJobRequest>(kRequests[1]));
  write(FromJson<v1::ListJobsRequest>(kRequests[2]));
  write(FromJson<v1::DeleteJobRequest>(kRequests[3]));
  write(FromJson<v1::StepRequest>(kRequests[4]));
  write(FromJson<v1::ReportMetricRequest>(kRequests[5]));
  write(FromJson<v1::SetLearningRateRequest>(kRequests[6]));
  write(FromJson<v1::SetWorldSizeRequest>(kRequests[7]));
  write(FromJson<v1::WatchJobRequest>(kRequests[8]));
  write(FromJson<v1::PreviewScheduleRequest>(kRequests[9]));
  Write(directory / absl::StrCat("request-", kind),
        std::string(1, static_cast<char>(kind)) + "run-1");
}

// Job fuzzer inputs: a spec (by its index in DriverSpecs), then pseudo-random
// choices.
void WriteJobs(const fs::path& directory) {
  const size_t specs[] = {0, 5, 11, 13, 15};
  for (size_t spec : specs) {
    std::mt19937_64 random(spec);
    std::string bytes(1, static_cast<char>(spec));
    for (int i = 0; i < 300; ++i) bytes += static_cast<char>(random());
    Write(directory / absl::StrCat("job-", spec), bytes);
  }
}

// A job of DriverSpecs()[spec] after `calls` random calls, its events as the
// server would have stored them.
std::vector<v1::JobEvent> History(const std::string& job_id, size_t spec, int calls) {
  v1::JobCreated created;
  *created.mutable_spec() = FromJson<v1::SchedulerSpec>(testing::DriverSpecs()[spec]);
  created.add_base_lrs(0.1);
  created.set_world_size(2);
  auto job = Job::Create(job_id, created, absl::FromUnixSeconds(1'700'000'000), JobOptions(),
                         /*store=*/nullptr);
  testing::RandomChoices choices(spec);
  testing::JobDriver driver(choices, 2);
  testing::StatedValues stated;
  for (int i = 0; i < calls; ++i) driver.Operate(**job, stated);
  return *testing::AllEvents(**job);
}

void WriteStateFile(const fs::path& path, const std::vector<std::vector<v1::JobEvent>>& jobs) {
  fs::create_directories(path.parent_path());
  fs::remove(path);
  {
    auto store = SqliteEventStore::Open(path.string());
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
      std::exit(1);
    }
    for (const auto& events : jobs) {
      std::promise<absl::Status> done;
      (*store)->Append(events, [&done](absl::Status status) { done.set_value(status); });
      if (absl::Status status = done.get_future().get(); !status.ok()) {
        std::fprintf(stderr, "%s\n", status.ToString().c_str());
        std::exit(1);
      }
    }
  }
  // Closing the store folded its write-ahead log into the file; the lock
  // file is the store's, not part of the state.
  fs::remove(path.string() + ".lock");
}

void WriteStateFiles(const fs::path& directory) {
  WriteStateFile(directory / "state-empty", {});
  WriteStateFile(directory / "state-plateau", {History("plateau", 11, 12)});
  WriteStateFile(directory / "state-two-jobs",
                 {History("a", 13, 10), History("b", 4, 6)});
}

}  // namespace
}  // namespace lrsched

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIRECTORY\n", argv[0]);
    return 2;
  }
  const std::filesystem::path corpus = argv[1];
  lrsched::WritePreviews(corpus / "preview");
  lrsched::WriteRequests(corpus / "request");
  lrsched::WriteJobs(corpus / "job");
  lrsched::WriteStateFiles(corpus / "state_file");
  return 0;
}
