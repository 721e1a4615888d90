// The events a job keeps for WatchJob: the last max_events of them, the
// creation among them rebuilt rather than stored, equal to what was emitted.
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "service/job/job.h"
#include "tests/testing/pytorch_trace.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::IsOk;
using ::lrsched::testing::ParseSpec;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<int64_t> Sequences(const std::vector<v1::JobEvent>& events) {
  std::vector<int64_t> sequences;
  for (const auto& event : events) sequences.push_back(event.sequence());
  return sequences;
}

int64_t LastSequence(const Job& job) {
  v1::Job view;
  job.ToProto(v1::JOB_VIEW_BASIC, &view);
  return view.last_sequence();
}

// One epoch of the only worker: its step, then its metric.
void Epoch(Job& job, int64_t step) {
  v1::StepRequest request;
  request.set_step(step);
  v1::StepResponse response;
  job.Step(request, &response, [](absl::Status) {}, nullptr);
  v1::ReportMetricRequest report;
  report.set_step(step);
  report.set_value(1.0);
  v1::ReportMetricResponse reported;
  job.ReportMetric(report, &reported, [](absl::Status) {});
}

TEST(JobEventsTest, KeepsTheLastMaxEventsWithTheCreationAmongThemWhileItFits) {
  v1::JobCreated created;
  *created.mutable_spec() = ParseSpec(R"({"reduce_lr_on_plateau": {"patience": 1}})");
  created.add_base_lrs(0.1);
  created.set_world_size(1);
  JobOptions options;
  options.max_events = 3;
  const absl::Time created_at = absl::FromUnixNanos(1'700'000'000'123'456'789);
  auto job = Job::Create("events", created, created_at, options, /*store=*/nullptr);
  ASSERT_THAT(job, IsOk());

  std::vector<v1::JobEvent> events;
  bool ended = true;
  ASSERT_THAT((*job)->ReadEvents(1, 100, &events, &ended), IsOk());
  ASSERT_THAT(Sequences(events), ElementsAre(1));
  EXPECT_FALSE(ended);
  EXPECT_EQ(events[0].job_id(), "events");
  EXPECT_EQ(events[0].time().seconds(), 1'700'000'000);
  EXPECT_EQ(events[0].time().nanos(), 123'456'789);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(events[0].created(), created));

  // The first Step hands out a chunk of steps: one more event, two kept.
  v1::StepRequest first_step;
  v1::StepResponse first_values;
  (*job)->Step(first_step, &first_values, [](absl::Status) {}, nullptr);
  ASSERT_EQ(LastSequence(**job), 2);
  events.clear();
  ASSERT_THAT((*job)->ReadEvents(1, 100, &events, &ended), IsOk());
  EXPECT_THAT(Sequences(events), ElementsAre(1, 2));
  EXPECT_TRUE(events[0].has_created());
  EXPECT_TRUE(events[1].has_handed_out_raised());

  for (int64_t step = 0; LastSequence(**job) < 8; ++step) Epoch(**job, step);
  const int64_t last = LastSequence(**job);
  events.clear();
  EXPECT_THAT((*job)->ReadEvents(last - 3, 100, &events, &ended),
              ::lrsched::testing::StatusIs(absl::StatusCode::kOutOfRange,
                                           HasSubstr("no longer kept")));
  events.clear();
  ASSERT_THAT((*job)->ReadEvents(last - 2, 100, &events, &ended), IsOk());
  EXPECT_THAT(Sequences(events), ElementsAre(last - 2, last - 1, last));
  events.clear();
  ASSERT_THAT((*job)->ReadEvents(last - 1, 1, &events, &ended), IsOk());
  EXPECT_THAT(Sequences(events), ElementsAre(last - 1));
}

}  // namespace
}  // namespace lrsched
