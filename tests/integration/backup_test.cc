// lrsched-backup against a real server that serves a load while the copy is
// taken; a second real server started on the copy has every job as it was.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/job_views.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_directory.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

namespace fs = std::filesystem;
using ::lrsched::testing::FromJson;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::TestServer;
using ::lrsched::testing::WaitUntil;
using ::testing::HasSubstr;

struct BackupRun {
  int exit_code;
  std::string output;
};

// Runs lrsched-backup with `arguments` and waits for it.
BackupRun Backup(const std::string& arguments) {
  const std::string command = absl::StrCat(LRSCHED_BACKUP_BINARY, " ", arguments, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "cannot start lrsched-backup"};
  BackupRun run;
  char buffer[4096];
  size_t length;
  while ((length = fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, length);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// What GetJob shows of a job's log. `latest` is left out: for a schedule
// without metrics it is the furthest step computed so far, which a restart
// of the same file computes again only when asked.
std::string Durable(v1::Job job) {
  job.clear_latest();
  return testing::WithoutLiveProgress(job).SerializeAsString();
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.state = directory_.File("state.db");
    options_.job.handed_out_chunk = 4;
    copy_ = directory_.File("copy.db");
  }

  ::lrsched::testing::TempDirectory directory_;
  ServerOptions options_;
  std::string copy_;
};

TEST_F(BackupTest, AServerStartedOnACopyTakenUnderLoadHasEveryJobAsItWas) {
  TestServer server(options_);
  ASSERT_THAT(server.CreateJob(R"({"job_id": "plateau", "base_lrs": [0.1, 0.2], "world_size": 2,
      "spec": {"reduce_lr_on_plateau": {"patience": 1, "factor": 0.5}}})"),
              IsOk());
  for (int64_t step = 0; step < 8; ++step) {
    ASSERT_THAT(server.Step("plateau", 0, step), IsOk());
    for (int rank = 0; rank < 2; ++rank) {
      ASSERT_THAT(server.ReportMetric("plateau", rank, step, step < 3 ? 3.0 - step : 1.0), IsOk());
    }
  }
  ASSERT_THAT(server.ReportMetric("plateau", 1, 8, 0.5), IsOk());  // pending
  ASSERT_THAT(server.SetLearningRate(FromJson<v1::SetLearningRateRequest>(
                  R"({"job_id": "plateau", "step": 20, "factor": 3})")),
              IsOk());
  ASSERT_THAT(server.CreateJob(R"({"job_id": "cyclic", "base_lrs": [0.1],
      "spec": {"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 3}}})"),
              IsOk());
  ASSERT_THAT(server.Step("cyclic", 0, 0, 30), IsOk());
  ASSERT_THAT(server.SetLearningRate(FromJson<v1::SetLearningRateRequest>(
                  R"({"job_id": "cyclic", "step": 2, "mode": "SCALE_SCHEDULE", "factor": 2})")),
              IsOk());
  ASSERT_THAT(server.CreateJob(R"({"job_id": "step", "base_lrs": [0.1],
      "spec": {"step_lr": {"step_size": 3, "gamma": 0.5}}})"),
              IsOk());
  ASSERT_THAT(server.Step("step", 0, 10), IsOk());
  ASSERT_THAT(server.CreateJob(R"({"job_id": "load", "base_lrs": [0.1], "world_size": 1,
      "spec": {"reduce_lr_on_plateau": {"patience": 2}}})"),
              IsOk());

  // A worker trains "load" throughout: each report is a change the copy
  // holds once it was acknowledged before the copy began.
  std::atomic<int64_t> acknowledged{-1};
  std::atomic<bool> stop{false};
  // At most 9,000 steps, however fast the machine: the check compares the
  // whole metric history, and a job keeps the last 10,000 steps of it.
  constexpr int64_t kLastStep = 8'999;
  std::thread worker([&] {
    for (int64_t step = 0; !stop && step <= kLastStep; ++step) {
      ASSERT_THAT(server.Step("load", 0, step), IsOk());
      ASSERT_THAT(server.ReportMetric("load", 0, step, 1.0 / (1 + step % 7)), IsOk());
      acknowledged = step;
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return acknowledged >= 20; }));
  std::map<std::string, std::string> before;
  for (const char* job : {"plateau", "cyclic", "step"}) {
    auto got = server.GetJob(job);
    ASSERT_THAT(got, IsOk());
    before[job] = Durable(*got);
  }
  const int64_t acknowledged_before = acknowledged;
  const BackupRun backup = Backup(absl::StrCat("--state=", options_.state, " --out=", copy_));
  const int64_t acknowledged_after = acknowledged;
  ASSERT_TRUE(
      WaitUntil([&] { return acknowledged >= std::min(acknowledged_after + 5, kLastStep); }))
      << "the server kept serving";
  stop = true;
  worker.join();
  ASSERT_EQ(backup.exit_code, 0) << backup.output;
  EXPECT_THAT(backup.output, HasSubstr(absl::StrCat("copied ", options_.state, " to ", copy_)));
  auto original = server.GetJob("load");
  ASSERT_THAT(original, IsOk());

  ServerOptions restored_options = options_;
  restored_options.state = copy_;
  TestServer restored(restored_options);
  EXPECT_EQ(restored.server().recovered_jobs(), 4u);
  for (const auto& [job, serialized] : before) {
    auto got = restored.GetJob(job);
    ASSERT_THAT(got, IsOk());
    v1::Job expected;
    expected.ParseFromString(serialized);
    EXPECT_EQ(Durable(*got), serialized)
        << "job " << job << "\nbefore: " << expected.ShortDebugString()
        << "\ncopy: " << got->ShortDebugString();
  }
  // The job under load: everything acknowledged before the copy, nothing
  // after the copy ended, and the same decisions as the original made.
  auto load = restored.GetJob("load");
  ASSERT_THAT(load, IsOk());
  EXPECT_GE(load->decided_step(), acknowledged_before + 1);
  EXPECT_LE(load->decided_step(), acknowledged_after + 2);
  ASSERT_GT(load->metric_history_size(), 0);
  for (const v1::AggregatedMetric& metric : load->metric_history()) {
    const int64_t index = metric.step() - original->metric_history(0).step();
    ASSERT_GE(index, 0) << "step " << metric.step();
    ASSERT_LT(index, original->metric_history_size());
    EXPECT_EQ(metric.SerializeAsString(), original->metric_history(index).SerializeAsString())
        << "step " << metric.step();
  }
  // The copy goes on as the original would.
  EXPECT_THAT(restored.ReportMetric("load", 0, load->decided_step(), 0.5), IsOk());

  // A second backup never overwrites the first.
  const std::string first_copy_size = std::to_string(fs::file_size(copy_));
  const BackupRun again = Backup(absl::StrCat("--state=", options_.state, " --out=", copy_));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.output, HasSubstr(absl::StrCat(copy_, ": already exists")));
  EXPECT_EQ(std::to_string(fs::file_size(copy_)), first_copy_size);
}

TEST_F(BackupTest, WithoutOutItIsAUsageError) {
  const BackupRun run = Backup("--state=" + options_.state);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("--out=PATH is required"));
}

}  // namespace
}  // namespace lrsched
