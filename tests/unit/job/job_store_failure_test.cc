// A job whose write fails, on a real SQLite file on a full disk: it answers
// UNAVAILABLE with the reason to the call that failed and to every later one,
// a retry never answers OK for what is not durable, and no watcher sees an
// event that was not stored. Needs to mount a tmpfs (root); skipped elsewhere.
#include <future>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/job/job.h"
#include "service/store/sqlite_event_store.h"
#include "tests/testing/pytorch_trace.h"
#include "tests/testing/small_disk.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::IsOk;
using ::lrsched::testing::ParseSpec;
using ::lrsched::testing::StatusIs;
using ::testing::HasSubstr;

// Runs `call` with a Done and waits for its outcome.
template <typename Call>
absl::Status Wait(Call call) {
  std::promise<absl::Status> done;
  call([&done](absl::Status status) { done.set_value(status); });
  return done.get_future().get();
}

class JobStoreFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) GTEST_SKIP() << disk_.why();
    auto store = SqliteEventStore::Open((disk_.path() / "state.db").string());
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    created_.mutable_spec()->MergeFrom(ParseSpec(R"({"reduce_lr_on_plateau": {}})"));
    created_.add_base_lrs(0.1);
    created_.set_world_size(1);
  }

  ::lrsched::testing::SmallDisk disk_{"2m"};
  std::unique_ptr<SqliteEventStore> store_;
  v1::JobCreated created_;
};

TEST_F(JobStoreFailureTest, ACreationThatFailedIsNeverAcknowledgedByARetry) {
  disk_.Fill();
  auto job = Job::Create("j", created_, absl::Now(), JobOptions(), store_.get());
  ASSERT_THAT(job, IsOk());
  const auto unavailable =
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("job j could not record its state"));
  EXPECT_THAT(Wait([&](Job::Done done) { (*job)->WhenDurable(std::move(done)); }), unavailable);
  // What a retried CreateJob waits for, once the store takes writes again:
  // this job's creation is still not stored.
  disk_.MakeRoom();
  EXPECT_THAT(Wait([&](Job::Done done) { (*job)->WhenDurable(std::move(done)); }), unavailable);
  v1::StepRequest step;
  v1::StepResponse values;
  EXPECT_THAT(Wait([&](Job::Done done) {
                (*job)->Step(step, &values, std::move(done), nullptr);
              }),
              unavailable);
  std::vector<v1::JobEvent> events;
  bool ended = false;
  EXPECT_THAT((*job)->ReadEvents(1, 10, &events, &ended), unavailable);
  EXPECT_TRUE(events.empty());
}

TEST_F(JobStoreFailureTest, AReportThatFailedIsNeverAcknowledgedNorWatched) {
  auto job = Job::Create("j", created_, absl::Now(), JobOptions(), store_.get());
  ASSERT_THAT(job, IsOk());
  v1::StepRequest step;
  v1::StepResponse values;
  ASSERT_THAT(Wait([&](Job::Done done) { (*job)->Step(step, &values, std::move(done), nullptr); }),
              IsOk());
  std::vector<v1::JobEvent> before;
  bool ended = false;
  ASSERT_THAT((*job)->ReadEvents(1, 10, &before, &ended), IsOk());

  disk_.Fill();
  // A watcher parked for the next event is woken by the close, not by an
  // event that was never stored.
  std::promise<void> woken;
  ASSERT_NE((*job)->WaitForEvent(before.back().sequence() + 1, [&woken] { woken.set_value(); }),
            0u);
  v1::ReportMetricRequest report;
  report.set_value(1.0);
  v1::ReportMetricResponse response;
  const auto unavailable = StatusIs(absl::StatusCode::kUnavailable, HasSubstr("retry"));
  EXPECT_THAT(Wait([&](Job::Done done) {
                (*job)->ReportMetric(report, &response, std::move(done));
              }),
              unavailable);
  woken.get_future().wait();
  std::vector<v1::JobEvent> after;
  EXPECT_THAT((*job)->ReadEvents(1, 10, &after, &ended), unavailable);
  disk_.MakeRoom();
  EXPECT_THAT(Wait([&](Job::Done done) {
                (*job)->ReportMetric(report, &response, std::move(done));
              }),
              unavailable);
}

}  // namespace
}  // namespace lrsched
