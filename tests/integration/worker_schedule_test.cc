// lrsched::Client and lrsched::WorkerSchedule against a real server.
#include "lrsched/worker_schedule.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lrsched/client.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::lrsched::testing::TestServer;
using ::testing::HasSubstr;

ClientOptions OptionsFor(TestServer& server) {
  ClientOptions options;
  options.target = server.address();
  return options;
}

// Step calls the server answered, with any status, from its lrsched_rpcs_total.
// It counts a call before sending its status, so before the client has it.
double StepCallsServed(const Server& server) {
  if (server.metrics() == nullptr) {
    ADD_FAILURE() << "the server keeps no metrics";
    return -1;
  }
  double calls = 0;
  for (const prometheus::MetricFamily& family : server.metrics()->Collect()) {
    if (family.name != "lrsched_rpcs_total") continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      for (const prometheus::ClientMetric::Label& label : metric.label) {
        if (label.name == "method" && label.value == "/lrsched.v1.SchedulerService/Step") {
          calls += metric.counter.value;
        }
      }
    }
  }
  return calls;
}

TEST(WorkerScheduleTest, AMetricFreeScheduleOfTenThousandStepsCostsAHandfulOfStepCalls) {
  ServerOptions options;
  options.metrics = true;
  TestServer server(options);
  Client client(OptionsFor(server));
  v1::CreateJobRequest create = FromJson<v1::CreateJobRequest>(R"({"job_id": "cos",
      "base_lrs": [0.1], "spec": {"sequential_lr": {"schedulers": [
        {"linear_lr": {"start_factor": 0.01, "total_iters": 500}},
        {"cosine_annealing_lr": {"t_max": 9500}}], "milestones": [500]}}})");
  ASSERT_THAT(client.CreateJob(create), IsOk());
  WorkerSchedule schedule(client, "cos", 0, /*look_ahead=*/5000);
  v1::PreviewScheduleRequest preview;
  *preview.mutable_spec() = create.spec();
  preview.add_base_lrs(0.1);
  preview.set_steps(9999);
  auto expected = client.PreviewSchedule(preview);
  ASSERT_THAT(expected, IsOk());
  for (int step = 0; step < 10000; ++step) {
    auto rates = schedule.Step();
    ASSERT_THAT(rates, IsOk());
    ASSERT_EQ(rates->step, step);
    ASSERT_EQ(rates->lrs[0], expected->values(step).lrs(0)) << "step " << step;
  }
  // A window of 5,001 steps per call: two calls, as the client sent them and
  // as the server's metrics counted them.
  EXPECT_EQ(schedule.step_rpcs(), 2);
  EXPECT_EQ(StepCallsServed(server.server()), 2);
}

TEST(WorkerScheduleTest, PlateauWorkersGetEachDecisionOnceEveryRankReported) {
  TestServer server;
  Client client(OptionsFor(server));
  ASSERT_THAT(client.CreateJob(FromJson<v1::CreateJobRequest>(R"({"job_id": "p",
      "base_lrs": [0.1], "world_size": 3,
      "spec": {"reduce_lr_on_plateau": {"patience": 0, "factor": 0.5}}})")),
              IsOk());
  std::vector<std::vector<double>> seen(3);
  std::vector<std::thread> workers;
  for (int rank = 0; rank < 3; ++rank) {
    workers.emplace_back([&, rank] {
      WorkerSchedule schedule(client, "p", rank);
      for (int epoch = 0; epoch < 8; ++epoch) {
        auto rates = schedule.Step();
        ASSERT_THAT(rates, IsOk());
        seen[rank].push_back(rates->lrs[0]);
        ASSERT_THAT(schedule.ReportMetric(epoch < 2 ? 1.0 - epoch * 0.5 : 0.5, 10), IsOk());
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(seen[1], seen[0]);
  EXPECT_EQ(seen[2], seen[0]);
  // Improves twice, then every stalled epoch halves the rate (patience 0).
  EXPECT_THAT(seen[0],
              ::testing::ElementsAre(0.1, 0.1, 0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125));
}

TEST(WorkerScheduleTest, ReportingBeforeTheFirstStepIsFailedPrecondition) {
  TestServer server;
  Client client(OptionsFor(server));
  WorkerSchedule schedule(client, "none", 0);
  EXPECT_THAT(schedule.ReportMetric(1.0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("first Step()")));
}

TEST(ClientTest, ErrorsThatRetryingCannotFixComeBackAtOnceWithTheServersMessage) {
  TestServer server;
  ClientOptions options = OptionsFor(server);
  options.give_up_after = absl::Minutes(10);
  Client client(options);
  const absl::Time start = absl::Now();
  EXPECT_THAT(client.GetJob("missing"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("job missing does not exist")));
  EXPECT_THAT(client.Step("missing", 0, 0, 0),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
  // Not retried until give_up_after: a retried call would take ten minutes.
  EXPECT_LT(absl::Now() - start, absl::Seconds(60));
}

// gRPC applies the retry policy only if it parses the service config: the
// channel reports the config it took once it has connected.
TEST(ClientTest, GrpcAppliesTheRetryPolicy) {
  TestServer server;
  ClientOptions options = OptionsFor(server);
  options.max_attempts = 4;
  options.initial_backoff = absl::Milliseconds(250);
  Client client(options);
  ASSERT_THAT(client.GetJob("missing"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
  const std::string applied = client.channel()->GetServiceConfigJSON();
  EXPECT_THAT(applied, HasSubstr(R"("retryPolicy": {)"));
  EXPECT_THAT(applied, HasSubstr(R"("maxAttempts": 4)"));
  EXPECT_THAT(applied, HasSubstr(R"("initialBackoff": "0.250s")"));
  EXPECT_THAT(applied, HasSubstr(R"("retryableStatusCodes": ["UNAVAILABLE"])"));
}

}  // namespace
}  // namespace lrsched
