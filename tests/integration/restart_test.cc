// A server restarted on the same state file has every job as it was: the same
// values, history, overrides and world size, and goes on exactly as a server
// that never stopped.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/schedule/preview.h"
#include "tests/testing/job_views.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_directory.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::WithoutLiveProgress;
using ::lrsched::testing::StatusIs;
using ::lrsched::testing::TestServer;
using ::testing::HasSubstr;

class RestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.state = directory_.File("state.db");
    options_.job.handed_out_chunk = 4;
  }

  ::lrsched::testing::TempDirectory directory_;
  ServerOptions options_;
};

constexpr char kPlateauJob[] = R"({"job_id": "p", "base_lrs": [0.1, 0.2], "world_size": 3,
    "spec": {"reduce_lr_on_plateau": {"patience": 1, "factor": 0.5}}})";

void Report(TestServer& server, int ranks, int64_t step, double value) {
  for (int rank = 0; rank < ranks; ++rank) {
    ASSERT_THAT(server.ReportMetric("p", rank, step, value + rank), IsOk());
  }
}

TEST_F(RestartTest, JobsOverridesAndWorldSizeSurviveARestart) {
  v1::Job before;
  std::vector<v1::StepValues> served;
  {
    TestServer server(options_);
    ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
    ASSERT_THAT(server.CreateJob(R"({"job_id": "c", "base_lrs": [0.1],
        "spec": {"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 3}}})"),
                IsOk());
    for (int64_t step = 0; step < 6; ++step) {
      auto values = server.Step("p", 0, step);
      ASSERT_THAT(values, IsOk());
      served.push_back(values->values(0));
      Report(server, 3, step, 1.0);
    }
    ASSERT_THAT(server.SetLearningRate(FromJson<v1::SetLearningRateRequest>(
                    R"({"job_id": "p", "step": 8, "factor": 3})")),
                IsOk());
    ASSERT_THAT(server.SetLearningRate(FromJson<v1::SetLearningRateRequest>(
                    R"({"job_id": "c", "step": 2, "mode": "SCALE_SCHEDULE", "factor": 2})")),
                IsOk());
    ASSERT_THAT(server.Call(&v1::SchedulerService::Stub::SetWorldSize,
                            FromJson<v1::SetWorldSizeRequest>(R"({"job_id": "p", "world_size": 2})")),
                IsOk());
    ASSERT_THAT(server.ReportMetric("p", 0, 6, 1.0), IsOk());  // pending at the restart
    ASSERT_THAT(server.Step("c", 0, 0, 30), IsOk());
    before = *server.GetJob("p");
  }
  TestServer server(options_);
  EXPECT_EQ(server.server().recovered_jobs(), 2u);
  auto after = server.GetJob("p");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(WithoutLiveProgress(*after).SerializeAsString(),
            WithoutLiveProgress(before).SerializeAsString())
      << "before: " << before.ShortDebugString() << "\nafter: " << after->ShortDebugString();
  EXPECT_EQ(after->world_size(), 2);
  ASSERT_EQ(after->overrides_size(), 1);
  ASSERT_EQ(after->pending_reports_size(), 1);

  // Values handed out before the restart are served again, bit for bit.
  for (int64_t step = 0; step < 6; ++step) {
    auto values = server.Step("p", 1, step);
    ASSERT_THAT(values, IsOk());
    EXPECT_EQ(values->values(0).SerializeAsString(), served[step].SerializeAsString());
  }
  // And the job goes on as an uninterrupted one would.
  ASSERT_THAT(server.ReportMetric("p", 1, 6, 2.0), IsOk());
  for (int64_t step = 7; step < 12; ++step) Report(server, 2, step, 1.0);
  auto job = server.GetJob("p");
  ASSERT_THAT(job, IsOk());
  auto schedule = Schedule::Create(job->spec(), job->base_lrs());
  ASSERT_THAT(schedule, IsOk());
  for (int64_t step = 0; step <= 12; ++step) {
    if (step > 0) schedule->Step(job->metric_history(step - 1).value());
    for (const auto& override : job->overrides()) {
      if (override.effective_step() == step) schedule->ApplyOverride(override);
    }
    auto values = server.Step("p", 0, step);
    ASSERT_THAT(values, IsOk());
    EXPECT_EQ(values->values(0).lrs(0), schedule->lrs()[0]) << "step " << step;
    EXPECT_EQ(values->values(0).lrs(1), schedule->lrs()[1]) << "step " << step;
  }
}

TEST_F(RestartTest, ADeletedJobStaysDeleted) {
  {
    TestServer server(options_);
    ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
    ASSERT_THAT(server.Call(&v1::SchedulerService::Stub::DeleteJob,
                            FromJson<v1::DeleteJobRequest>(R"({"job_id": "p"})")),
                IsOk());
  }
  TestServer server(options_);
  EXPECT_EQ(server.server().recovered_jobs(), 0u);
  EXPECT_THAT(server.GetJob("p"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("p")));
}

// The rows of one job in the state file, as stored.
std::vector<std::string> Rows(const std::string& state, const std::string& job_id) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(state.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* select = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT event FROM events WHERE job_id = ?1 ORDER BY sequence",
                               -1, &select, nullptr),
            SQLITE_OK);
  sqlite3_bind_text(select, 1, job_id.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<std::string> rows;
  while (sqlite3_step(select) == SQLITE_ROW) {
    rows.emplace_back(static_cast<const char*>(sqlite3_column_blob(select, 0)),
                      static_cast<size_t>(sqlite3_column_bytes(select, 0)));
  }
  sqlite3_finalize(select);
  sqlite3_close(db);
  return rows;
}

TEST_F(RestartTest, ALogThatReplaysDifferentlyQuarantinesThatJobAlone) {
  {
    TestServer server(options_);
    ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
    ASSERT_THAT(server.CreateJob(R"({"job_id": "q", "base_lrs": [0.1],
        "spec": {"step_lr": {"step_size": 2}}})"),
                IsOk());
    Report(server, 3, 0, 1.0);
  }
  // Change the recorded value of the aggregation: replay then decides
  // otherwise than recorded.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options_.state.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* select = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT sequence, event FROM events WHERE job_id = 'p'", -1,
                               &select, nullptr),
            SQLITE_OK);
  int64_t sequence = -1;
  std::string tampered;
  while (sqlite3_step(select) == SQLITE_ROW) {
    v1::JobEvent event;
    event.ParseFromArray(sqlite3_column_blob(select, 1), sqlite3_column_bytes(select, 1));
    if (event.has_step_aggregated()) {
      event.mutable_step_aggregated()->mutable_metric()->set_lrs(0, 0.5);
      sequence = event.sequence();
      tampered = event.SerializeAsString();
    }
  }
  sqlite3_finalize(select);
  ASSERT_GT(sequence, 0);
  sqlite3_stmt* update = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE events SET event = ?1 WHERE job_id = 'p' AND sequence = ?2",
                               -1, &update, nullptr),
            SQLITE_OK);
  sqlite3_bind_blob(update, 1, tampered.data(), static_cast<int>(tampered.size()), SQLITE_STATIC);
  sqlite3_bind_int64(update, 2, sequence);
  ASSERT_EQ(sqlite3_step(update), SQLITE_DONE);
  sqlite3_finalize(update);
  sqlite3_close(db);
  const std::vector<std::string> stored = Rows(options_.state, "p");

  {
    // The server starts and serves every other job...
    TestServer server(options_);
    EXPECT_EQ(server.server().recovered_jobs(), 1u);
    EXPECT_THAT(server.Step("q", 0, 3), IsOk());
    // ...shows the damaged one with the reason...
    auto damaged = server.GetJob("p");
    ASSERT_THAT(damaged, IsOk());
    EXPECT_THAT(damaged->damaged(), HasSubstr("replaying the aggregation of step 0"));
    auto list = server.Call(&v1::SchedulerService::Stub::ListJobs, v1::ListJobsRequest());
    ASSERT_THAT(list, IsOk());
    ASSERT_EQ(list->jobs_size(), 2);
    EXPECT_EQ(list->jobs(0).job_id(), "p");
    EXPECT_THAT(list->jobs(0).damaged(), HasSubstr("decided differently"));
    // ...answers every other call on it with DATA_LOSS naming the event...
    const auto damaged_error = StatusIs(
        absl::StatusCode::kDataLoss,
        ::testing::AllOf(HasSubstr("job p is damaged"), HasSubstr("aggregation of step 0")));
    EXPECT_THAT(server.Step("p", 0, 0), damaged_error);
    EXPECT_THAT(server.ReportMetric("p", 0, 1, 1.0), damaged_error);
    EXPECT_THAT(server.CreateJob(kPlateauJob), damaged_error);
    // ...and leaves its log as it was.
    EXPECT_EQ(Rows(options_.state, "p"), stored);
  }
  {
    TestServer server(options_);
    EXPECT_THAT(server.GetJob("p"), IsOk());
    // Deleting it is the operator's decision.
    ASSERT_THAT(server.Call(&v1::SchedulerService::Stub::DeleteJob,
                            FromJson<v1::DeleteJobRequest>(R"({"job_id": "p"})")),
                IsOk());
    EXPECT_THAT(server.GetJob("p"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("p")));
    EXPECT_THAT(server.CreateJob(kPlateauJob), IsOk());
  }
  TestServer server(options_);
  EXPECT_EQ(server.server().recovered_jobs(), 2u);
  auto recreated = server.GetJob("p");
  ASSERT_THAT(recreated, IsOk());
  EXPECT_EQ(recreated->damaged(), "");
  EXPECT_EQ(recreated->metric_history_size(), 0);
}

TEST_F(RestartTest, AnEventThatDoesNotParseQuarantinesThatJobAlone) {
  {
    TestServer server(options_);
    ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
    ASSERT_THAT(server.CreateJob(R"({"job_id": "q", "base_lrs": [0.1],
        "spec": {"step_lr": {"step_size": 2}}})"),
                IsOk());
    Report(server, 3, 0, 1.0);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options_.state.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE events SET event = x'ffffffff' WHERE job_id = 'p' AND "
                             "sequence = 2", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::vector<std::string> stored = Rows(options_.state, "p");
  TestServer server(options_);
  EXPECT_EQ(server.server().recovered_jobs(), 1u);
  EXPECT_THAT(server.Step("q", 0, 0), IsOk());
  auto damaged = server.GetJob("p");
  ASSERT_THAT(damaged, IsOk());
  EXPECT_THAT(damaged->damaged(), HasSubstr("job p event 2 does not parse"));
  EXPECT_THAT(server.Step("p", 0, 0),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("event 2 does not parse")));
  EXPECT_EQ(Rows(options_.state, "p"), stored);
}

// A warm-up then ReduceLROnPlateau: steps before the plateau takes over are
// computed without a metric, and replay must compute them too.
TEST_F(RestartTest, AWarmUpThenPlateauJobComesBackAfterARestart) {
  constexpr char kWarmUp[] = R"({"job_id": "seq", "base_lrs": [0.1], "world_size": 2,
      "spec": {"sequential_lr": {"schedulers": [
          {"linear_lr": {"start_factor": 0.1, "total_iters": 3}},
          {"reduce_lr_on_plateau": {"patience": 2}}], "milestones": [3]}}})";
  std::vector<std::string> served;
  v1::Job before;
  {
    TestServer server(options_);
    ASSERT_THAT(server.CreateJob(kWarmUp), IsOk());
    for (int64_t step = 0; step <= 4; ++step) {
      for (int rank = 0; rank < 2; ++rank) {
        auto values = server.Step("seq", rank, step);
        ASSERT_THAT(values, IsOk()) << "step " << step;
        if (rank == 0) served.push_back(values->values(0).SerializeAsString());
      }
      if (step >= 3) {
        for (int rank = 0; rank < 2; ++rank) {
          ASSERT_THAT(server.ReportMetric("seq", rank, step, 1.0), IsOk());
        }
      }
    }
    before = *server.GetJob("seq");
  }
  TestServer server(options_);
  EXPECT_EQ(server.server().recovered_jobs(), 1u);
  auto after = server.GetJob("seq");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(WithoutLiveProgress(*after).SerializeAsString(),
            WithoutLiveProgress(before).SerializeAsString())
      << "before: " << before.ShortDebugString() << "\nafter: " << after->ShortDebugString();
  for (int64_t step = 0; step <= 4; ++step) {
    auto values = server.Step("seq", 1, step);
    ASSERT_THAT(values, IsOk());
    EXPECT_EQ(values->values(0).SerializeAsString(), served[step]) << "step " << step;
  }
  EXPECT_THAT(server.Step("seq", 0, 5), IsOk());
}

// The furthest computed step is part of the state: GetJob and far Steps
// answer after a restart as they did before it.
TEST_F(RestartTest, GetJobAndFarStepsAnswerAsBeforeARestart) {
  constexpr char kCosine[] = R"({"job_id": "cos", "base_lrs": [0.1],
      "spec": {"cosine_annealing_lr": {"t_max": 12}}})";
  v1::Job before;
  {
    TestServer server(options_);
    ASSERT_THAT(server.CreateJob(kCosine), IsOk());
    ASSERT_THAT(server.Step("cos", 0, 0), IsOk());
    before = *server.GetJob("cos");
  }
  ASSERT_TRUE(before.has_latest());
  EXPECT_EQ(before.latest().step(), options_.job.handed_out_chunk - 1);
  TestServer server(options_);
  auto after = server.GetJob("cos");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(WithoutLiveProgress(*after).SerializeAsString(),
            WithoutLiveProgress(before).SerializeAsString())
      << "before: " << before.ShortDebugString() << "\nafter: " << after->ShortDebugString();
  // 4,194,304 values past the furthest computed step is the most one Step
  // computes: the same limit after the restart.
  const int64_t far = before.latest().step() + 4'194'304;
  EXPECT_THAT(server.Step("cos", 0, far + 1),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("ask for nearer steps first")));
  auto values = server.Step("cos", 0, far);
  ASSERT_THAT(values, IsOk());
  ASSERT_THAT(server.CreateJob(R"({"job_id": "twin", "base_lrs": [0.1],
      "spec": {"cosine_annealing_lr": {"t_max": 12}}})"),
              IsOk());
  ASSERT_THAT(server.Step("twin", 0, 0), IsOk());
  EXPECT_THAT(server.Step("twin", 0, far + 1),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("ask for nearer steps first")));
  auto twin = server.Step("twin", 0, far);
  ASSERT_THAT(twin, IsOk());
  EXPECT_EQ(values->values(0).lrs(0), twin->values(0).lrs(0));
}

// Steps parked on a job, as every worker's are between two validations.
class ParkedSteps {
 public:
  ParkedSteps(TestServer& server, const std::string& job_id, int count)
      : calls_(count), remaining_(count) {
    for (Call& call : calls_) {
      call.request.set_job_id(job_id);
      call.request.set_step(1);
      server.stub().async()->Step(&call.context, &call.request, &call.response,
                                  [this, &call](grpc::Status status) {
                                    call.status = std::move(status);
                                    if (--remaining_ == 0) done_.Notify();
                                  });
    }
  }
  // Waits for every call to end; how many ended NOT_FOUND.
  int AwaitNotFound() {
    done_.WaitForNotification();
    int not_found = 0;
    for (const Call& call : calls_) not_found += call.status.error_code() == grpc::NOT_FOUND;
    return not_found;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::StepRequest request;
    v1::StepResponse response;
    grpc::Status status;
  };
  std::vector<Call> calls_;
  std::atomic<int> remaining_;
  absl::Notification done_;
};

// A deletion ends the job's parked Steps, which takes a while; a creation of
// the same id sent meanwhile must neither conflict with the old job's stored
// log nor be acknowledged without being stored.
TEST_F(RestartTest, DeleteAndCreateOfOneIdAreLinearizableWhileStepsAreParked) {
  constexpr int kRounds = 40;
  constexpr int kParked = 1000;
  const auto create = [](int round) {
    auto request = FromJson<v1::CreateJobRequest>(
        R"({"job_id": "d", "world_size": 1, "spec": {"reduce_lr_on_plateau": {}}})");
    request.add_base_lrs(0.1 + round * 1e-3);
    return request;
  };
  {
    TestServer server(options_);
    ASSERT_THAT(server.CreateJob(create(0)), IsOk());
    for (int round = 1; round <= kRounds; ++round) {
      ParkedSteps parked(server, "d", kParked);
      ASSERT_TRUE(::lrsched::testing::WaitUntil(
          [&] { return server.GetJob("d")->waiting_steps() == kParked; }));
      // Until the deletion has happened, the old job is there and differs.
      absl::StatusOr<v1::Job> created;
      std::thread creator([&] {
        do {
          created = server.CreateJob(create(round));
        } while (created.status().code() == absl::StatusCode::kAlreadyExists);
      });
      ASSERT_THAT(server.Call(&v1::SchedulerService::Stub::DeleteJob,
                              FromJson<v1::DeleteJobRequest>(R"({"job_id": "d"})")),
                  IsOk());
      creator.join();
      ASSERT_THAT(created, IsOk()) << "round " << round;
      ASSERT_THAT(server.Step("d", 0, 0), IsOk()) << "round " << round;
      EXPECT_EQ(parked.AwaitNotFound(), kParked);
    }
  }
  TestServer server(options_);
  EXPECT_EQ(server.server().recovered_jobs(), 1u);
  auto job = server.GetJob("d");
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(job->base_lrs(0), 0.1 + kRounds * 1e-3);
}

}  // namespace
}  // namespace lrsched
