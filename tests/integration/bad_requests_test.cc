// Every field of every request is checked: a bad request gets the right code
// and a message naming the field, and changes nothing in the server.
#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::TestServer;
using Stub = v1::SchedulerService::Stub;

struct BadRequest {
  std::string name;
  absl::StatusCode code;
  std::string message;  // appears in the status message
  std::function<absl::Status(TestServer&)> call;
};

template <typename Request, typename Response>
std::function<absl::Status(TestServer&)> Unary(
    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const std::string& json) {
  return [method, json](TestServer& server) {
    return server.Call(method, FromJson<Request>(json)).status();
  };
}

std::function<absl::Status(TestServer&)> Watch(const std::string& json) {
  return [json](TestServer& server) {
    grpc::ClientContext context;
    auto reader = server.stub().WatchJob(&context, FromJson<v1::WatchJobRequest>(json));
    v1::JobEvent event;
    while (reader->Read(&event)) {
    }
    return FromGrpcStatus(reader->Finish());
  };
}

std::vector<BadRequest> BadRequests() {
  using absl::StatusCode;
  const auto kInvalid = StatusCode::kInvalidArgument;
  const std::string long_id(129, 'x');
  return {
      {"empty job id", kInvalid, "job_id: is required",
       Unary(&Stub::CreateJob, R"({"spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1]})")},
      {"long job id", kInvalid, "job_id: must be at most 128 characters, got 129",
       Unary(&Stub::CreateJob, R"({"job_id": ")" + long_id +
                                   R"(", "spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1]})")},
      {"space in job id", kInvalid, "job_id: may hold only",
       Unary(&Stub::CreateJob, R"({"job_id": "a b", "spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1]})")},
      {"slash in job id", kInvalid, "job_id: may hold only",
       Unary(&Stub::CreateJob, R"({"job_id": "a/b", "spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1]})")},
      {"job id starts with dash", kInvalid, "must not start with",
       Unary(&Stub::CreateJob, R"({"job_id": "-a", "spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1]})")},
      {"no spec", kInvalid, "spec: is required",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "base_lrs": [0.1]})")},
      {"spec without scheduler", kInvalid, "spec: must set exactly one scheduler",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "spec": {}, "base_lrs": [0.1]})")},
      {"no base lrs", kInvalid, "base_lrs: expected 1 to 1024 values",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "spec": {"step_lr": {"step_size": 1}}})")},
      {"negative base lr", kInvalid, "base_lrs[1]: must be finite and at least 0",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1, -1]})")},
      {"NaN base lr", kInvalid, "base_lrs[0]: must be finite",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "spec": {"step_lr": {"step_size": 1}}, "base_lrs": ["NaN"]})")},
      {"infinite base lr", kInvalid, "base_lrs[0]: must be finite",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "spec": {"step_lr": {"step_size": 1}}, "base_lrs": ["Infinity"]})")},
      {"negative world size", kInvalid, "world_size: must be in [0, 65536], got -1",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1], "world_size": -1})")},
      {"huge world size", kInvalid, "world_size: must be in [0, 65536]",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1], "world_size": 100000})")},
      {"unknown aggregation", kInvalid, "aggregation: unknown value 9",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1], "aggregation": 9})")},
      {"zero step size", kInvalid, "spec.step_lr.step_size: must be in [1, 2^53 - 1], got 0",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "spec": {"step_lr": {"step_size": 0}}, "base_lrs": [0.1]})")},
      {"unknown cyclic mode", kInvalid, "spec.cyclic_lr.mode: unknown value 9",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "spec": {"cyclic_lr": {"base_lr": [0.1], "max_lr": [1], "mode": 9}}, "base_lrs": [0.1]})")},
      {"NaN gamma", kInvalid, "spec.exponential_lr.gamma: must be finite",
       Unary(&Stub::CreateJob, R"({"job_id": "n", "spec": {"exponential_lr": {"gamma": "NaN"}}, "base_lrs": [0.1]})")},
      {"existing id, other spec", StatusCode::kAlreadyExists, "job p already exists with a different spec",
       Unary(&Stub::CreateJob, R"({"job_id": "p", "spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1]})")},
      {"get unknown job", StatusCode::kNotFound, "job nope does not exist",
       Unary(&Stub::GetJob, R"({"job_id": "nope"})")},
      {"get bad id", kInvalid, "job_id: may hold only", Unary(&Stub::GetJob, R"({"job_id": "a*"})")},
      {"get unknown view", kInvalid, "view: unknown value 7",
       Unary(&Stub::GetJob, R"({"job_id": "p", "view": 7})")},
      {"negative history step", kInvalid, "history_before_step: must be in [0, ",
       Unary(&Stub::GetJob, R"({"job_id": "p", "history_before_step": -1})")},
      {"negative page size", kInvalid, "page_size: must be in [0, 1000], got -1",
       Unary(&Stub::ListJobs, R"({"page_size": -1})")},
      {"huge page size", kInvalid, "page_size: must be in [0, 1000], got 1001",
       Unary(&Stub::ListJobs, R"({"page_size": 1001})")},
      {"forged page token", kInvalid, "page_token: is not a token this server gave",
       Unary(&Stub::ListJobs, R"({"page_token": "not a token!"})")},
      {"delete unknown job", StatusCode::kNotFound, "job nope does not exist",
       Unary(&Stub::DeleteJob, R"({"job_id": "nope"})")},
      {"delete empty id", kInvalid, "job_id: is required", Unary(&Stub::DeleteJob, R"({})")},
      {"negative rank", kInvalid, "rank: must be in [0, 65535], got -1",
       Unary(&Stub::Step, R"({"job_id": "p", "rank": -1})")},
      {"negative step", kInvalid, "step: must be in [0, 9007199254740991], got -1",
       Unary(&Stub::Step, R"({"job_id": "p", "step": -1})")},
      {"step beyond 2^53", kInvalid, "step: must be in [0, 9007199254740991]",
       Unary(&Stub::Step, R"({"job_id": "p", "step": "9007199254740992"})")},
      {"negative look ahead", kInvalid, "look_ahead: must be in [0, 100000], got -1",
       Unary(&Stub::Step, R"({"job_id": "p", "look_ahead": -1})")},
      {"huge look ahead", kInvalid, "look_ahead: must be in [0, 100000], got 100001",
       Unary(&Stub::Step, R"({"job_id": "p", "look_ahead": 100001})")},
      {"step rank beyond world size", kInvalid, "rank: must be less than job p's world_size 2, got 2",
       Unary(&Stub::Step, R"({"job_id": "p", "rank": 2})")},
      {"step unknown job", StatusCode::kNotFound, "job nope does not exist",
       Unary(&Stub::Step, R"({"job_id": "nope"})")},
      {"negative weight", kInvalid, "weight: must be finite and at least 0, got -1",
       Unary(&Stub::ReportMetric, R"({"job_id": "p", "value": 1, "weight": -1})")},
      {"NaN weight", kInvalid, "weight: must be finite",
       Unary(&Stub::ReportMetric, R"({"job_id": "p", "value": 1, "weight": "NaN"})")},
      {"infinite weight", kInvalid, "weight: must be finite",
       Unary(&Stub::ReportMetric, R"({"job_id": "p", "value": 1, "weight": "Infinity"})")},
      {"report negative rank", kInvalid, "rank: must be in [0, 65535], got -5",
       Unary(&Stub::ReportMetric, R"({"job_id": "p", "rank": -5, "value": 1})")},
      {"report negative step", kInvalid, "step: must be in",
       Unary(&Stub::ReportMetric, R"({"job_id": "p", "step": -1, "value": 1})")},
      {"report rank beyond world size", kInvalid, "rank: must be less than job p's world_size 2",
       Unary(&Stub::ReportMetric, R"({"job_id": "p", "rank": 7, "value": 1})")},
      {"report to metric-free job", StatusCode::kFailedPrecondition, "(cosine_annealing_lr) takes no metric",
       Unary(&Stub::ReportMetric, R"({"job_id": "c", "value": 1})")},
      {"report undecided step", StatusCode::kFailedPrecondition, "step: 5 of job p is not decided yet",
       Unary(&Stub::ReportMetric, R"({"job_id": "p", "step": 5, "value": 1})")},
      {"report unknown job", StatusCode::kNotFound, "job nope does not exist",
       Unary(&Stub::ReportMetric, R"({"job_id": "nope", "value": 1})")},
      {"override without change", kInvalid, "change: set lrs or factor",
       Unary(&Stub::SetLearningRate, R"({"job_id": "p", "step": 1})")},
      {"negative factor", kInvalid, "factor: must be finite and at least 0, got -0.5",
       Unary(&Stub::SetLearningRate, R"({"job_id": "p", "factor": -0.5})")},
      {"NaN factor", kInvalid, "factor: must be finite",
       Unary(&Stub::SetLearningRate, R"({"job_id": "p", "factor": "NaN"})")},
      {"empty lrs", kInvalid, "lrs.values: is required",
       Unary(&Stub::SetLearningRate, R"({"job_id": "p", "lrs": {}})")},
      {"negative lr", kInvalid, "lrs.values[0]: must be finite and at least 0",
       Unary(&Stub::SetLearningRate, R"({"job_id": "p", "lrs": {"values": [-1]}})")},
      {"scale with lrs", kInvalid, "SCALE_SCHEDULE takes a factor",
       Unary(&Stub::SetLearningRate, R"({"job_id": "p", "mode": "SCALE_SCHEDULE", "lrs": {"values": [1]}})")},
      {"unknown override mode", kInvalid, "mode: unknown value 9",
       Unary(&Stub::SetLearningRate, R"({"job_id": "p", "mode": 9, "factor": 1})")},
      {"override negative step", kInvalid, "step: must be in",
       Unary(&Stub::SetLearningRate, R"({"job_id": "p", "step": -2, "factor": 1})")},
      {"override lrs count", kInvalid, "lrs.values: expected 1 or 2 values",
       Unary(&Stub::SetLearningRate, R"({"job_id": "p", "lrs": {"values": [1, 2, 3]}})")},
      {"zero world size", kInvalid, "world_size: must be in [1, 65536], got 0",
       Unary(&Stub::SetWorldSize, R"({"job_id": "p", "world_size": 0})")},
      {"resize unknown job", StatusCode::kNotFound, "job nope does not exist",
       Unary(&Stub::SetWorldSize, R"({"job_id": "nope", "world_size": 2})")},
      {"watch negative sequence", kInvalid, "from_sequence: must be in",
       Watch(R"({"job_id": "p", "from_sequence": -1})")},
      {"watch unknown job", StatusCode::kNotFound, "job nope does not exist",
       Watch(R"({"job_id": "nope"})")},
      {"preview negative steps", kInvalid, "steps: must be in [0, 10000000], got -1",
       Unary(&Stub::PreviewSchedule, R"({"spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1], "steps": -1})")},
      {"preview without spec", kInvalid, "spec: is required",
       Unary(&Stub::PreviewSchedule, R"({"base_lrs": [0.1], "steps": 1})")},
      {"preview metrics without metric", kInvalid, "metrics: the schedule takes no metric",
       Unary(&Stub::PreviewSchedule, R"({"spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1], "steps": 1, "metrics": [1]})")},
  };
}

std::string Snapshot(TestServer& server) {
  std::string snapshot;
  for (const char* id : {"p", "c"}) {
    auto job = server.GetJob(id);
    EXPECT_THAT(job, IsOk());
    snapshot += job->SerializeAsString();
  }
  auto list = server.Call(&Stub::ListJobs, v1::ListJobsRequest());
  EXPECT_THAT(list, IsOk());
  return snapshot + list->SerializeAsString();
}

TEST(BadRequestsTest, EachGetsItsCodeNamesTheFieldAndChangesNothing) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(R"({"job_id": "p", "base_lrs": [0.1, 0.2], "world_size": 2,
                                   "spec": {"reduce_lr_on_plateau": {}}})"),
              IsOk());
  ASSERT_THAT(server.CreateJob(R"({"job_id": "c", "base_lrs": [0.1],
                                   "spec": {"cosine_annealing_lr": {"t_max": 10}}})"),
              IsOk());
  ASSERT_THAT(server.Step("p", 0, 0), IsOk());
  ASSERT_THAT(server.ReportMetric("p", 0, 0, 1.0), IsOk());
  const std::string before = Snapshot(server);
  const auto requests = BadRequests();
  ASSERT_GE(requests.size(), 40u);
  for (const BadRequest& bad : requests) {
    EXPECT_THAT(bad.call(server), ::lrsched::testing::StatusIs(bad.code, ::testing::HasSubstr(bad.message)))
        << bad.name;
  }
  EXPECT_EQ(Snapshot(server), before) << "a bad request changed the server";
  // And the server still serves.
  auto report = server.ReportMetric("p", 1, 0, 1.0);
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->aggregated());
}

}  // namespace
}  // namespace lrsched
