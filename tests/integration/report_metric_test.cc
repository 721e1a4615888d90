// ReportMetric: once per (rank, step), idempotent retries, conflicts, and the
// decision when the last worker reports.
#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::lrsched::testing::TestServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPlateauJob[] = R"({"job_id": "p", "base_lrs": [0.1],
    "spec": {"reduce_lr_on_plateau": {"patience": 0, "factor": 0.5}}, "world_size": 2})";

TEST(ReportMetricTest, TheLastReportAggregatesAndCarriesTheDecision) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  auto first = server.ReportMetric("p", 1, 0, 4.0, 3);
  ASSERT_THAT(first, IsOk());
  EXPECT_FALSE(first->aggregated());
  auto last = server.ReportMetric("p", 0, 0, 2.0, 1);
  ASSERT_THAT(last, IsOk());
  ASSERT_TRUE(last->aggregated());
  EXPECT_EQ(last->decision().step(), 0);
  EXPECT_EQ(last->decision().value(), (4.0 * 3 + 2.0 * 1) / 4);
  EXPECT_THAT(last->decision().lrs(), ElementsAre(0.1));
  // A retry of either report, even after aggregation, gets the decision.
  auto retry = server.ReportMetric("p", 1, 0, 4.0, 3);
  ASSERT_THAT(retry, IsOk());
  EXPECT_TRUE(retry->aggregated());
  EXPECT_EQ(retry->decision().value(), last->decision().value());
}

TEST(ReportMetricTest, ARetryOfAPendingReportIsAccepted) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  ASSERT_THAT(server.ReportMetric("p", 0, 0, 1.0), IsOk());
  auto retry = server.ReportMetric("p", 0, 0, 1.0);
  ASSERT_THAT(retry, IsOk());
  EXPECT_FALSE(retry->aggregated());
  EXPECT_EQ(server.GetJob("p")->event_count(), 2);
}

TEST(ReportMetricTest, ADifferentValueForTheSameRankAndStepIsAlreadyExists) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  ASSERT_THAT(server.ReportMetric("p", 0, 0, 1.0), IsOk());
  EXPECT_THAT(server.ReportMetric("p", 0, 0, 1.5),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("rank 0 already reported 1 (weight 1) for step 0")));
  EXPECT_THAT(server.ReportMetric("p", 0, 0, 1.0, 2),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("weight 2")));
  ASSERT_THAT(server.ReportMetric("p", 1, 0, 1.0), IsOk());
  EXPECT_THAT(server.ReportMetric("p", 1, 0, 9.0),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("rank 1 already reported 1")));
}

TEST(ReportMetricTest, TheRefusalOfAValueThatDiffersInItsLastDigitsShowsTheDifference) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  ASSERT_THAT(server.ReportMetric("p", 0, 0, 0.1 + 0.2), IsOk());
  // The shortest text that reads back as each value, as Python prints it.
  EXPECT_THAT(server.ReportMetric("p", 0, 0, 0.3),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("already reported 0.30000000000000004 (weight 1) for step 0 "
                                 "of job p; got 0.3 (weight 1)")));
}

TEST(ReportMetricTest, AStepThatIsNotDecidedYetIsFailedPrecondition) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  EXPECT_THAT(server.ReportMetric("p", 0, 1, 1.0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("step: 1 of job p is not decided yet (steps up to 0 are)")));
}

TEST(ReportMetricTest, AScheduleWithoutMetricsIsFailedPreconditionNamingIt) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(R"({"job_id": "c", "base_lrs": [0.1],
                                   "spec": {"cosine_annealing_lr": {"t_max": 10}}})"),
              IsOk());
  EXPECT_THAT(server.ReportMetric("c", 0, 0, 1.0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("job c's schedule (cosine_annealing_lr) takes no metric")));
}

TEST(ReportMetricTest, NaNIsNeverAnImprovement) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(R"({"job_id": "n", "base_lrs": [0.1],
                                   "spec": {"reduce_lr_on_plateau": {"patience": 0}}})"),
              IsOk());
  ASSERT_THAT(server.ReportMetric("n", 0, 0, 1.0), IsOk());
  auto nan = server.ReportMetric("n", 0, 1, std::nan(""));
  ASSERT_THAT(nan, IsOk());
  EXPECT_TRUE(std::isnan(nan->decision().value()));
  EXPECT_TRUE(nan->decision().reduced());
  EXPECT_EQ(nan->decision().plateau().best(), 1.0);
  // A NaN retried is the same report.
  EXPECT_THAT(server.ReportMetric("n", 0, 1, std::nan("")), IsOk());
}

TEST(ReportMetricTest, WarmupStepsTakeNoMetricUntilTheLastMilestone) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(R"({"job_id": "w", "base_lrs": [0.1], "spec": {"sequential_lr": {
      "schedulers": [{"linear_lr": {"total_iters": 3}}, {"reduce_lr_on_plateau": {}}],
      "milestones": [3]}}})"),
              IsOk());
  EXPECT_EQ(server.GetJob("w")->decided_step(), 3);
  // Accepted, as workers report every epoch alike, but unused and unrecorded.
  auto warmup = server.ReportMetric("w", 0, 1, 1.0);
  ASSERT_THAT(warmup, IsOk());
  EXPECT_FALSE(warmup->aggregated());
  EXPECT_EQ(server.GetJob("w")->event_count(), 1);
  auto report = server.ReportMetric("w", 0, 3, 1.0);
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->aggregated());
  EXPECT_EQ(server.GetJob("w")->decided_step(), 4);
}

}  // namespace
}  // namespace lrsched
