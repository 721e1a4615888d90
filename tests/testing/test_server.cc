#include "tests/testing/test_server.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace lrsched::testing {

TestServer::TestServer(ServerOptions options) {
  options.listen = "127.0.0.1:0";
  auto server = Server::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  stub_ = v1::SchedulerService::NewStub(channel_);
}

std::string TestServer::address() const { return absl::StrCat("127.0.0.1:", server_->port()); }

absl::StatusOr<v1::Job> TestServer::CreateJob(const v1::CreateJobRequest& request) {
  return Call(&v1::SchedulerService::Stub::CreateJob, request);
}

absl::StatusOr<v1::Job> TestServer::GetJob(const std::string& job_id) {
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  return Call(&v1::SchedulerService::Stub::GetJob, request);
}

absl::StatusOr<v1::StepResponse> TestServer::Step(const std::string& job_id, int rank,
                                                  int64_t step, int64_t look_ahead,
                                                  absl::Duration timeout) {
  v1::StepRequest request;
  request.set_job_id(job_id);
  request.set_rank(rank);
  request.set_step(step);
  request.set_look_ahead(look_ahead);
  return Call(&v1::SchedulerService::Stub::Step, request, timeout);
}

absl::StatusOr<v1::ReportMetricResponse> TestServer::ReportMetric(const std::string& job_id,
                                                                  int rank, int64_t step,
                                                                  double value, double weight) {
  v1::ReportMetricRequest request;
  request.set_job_id(job_id);
  request.set_rank(rank);
  request.set_step(step);
  request.set_value(value);
  request.set_weight(weight);
  return Call(&v1::SchedulerService::Stub::ReportMetric, request);
}

absl::StatusOr<v1::SetLearningRateResponse> TestServer::SetLearningRate(
    const v1::SetLearningRateRequest& request) {
  return Call(&v1::SchedulerService::Stub::SetLearningRate, request);
}

absl::StatusOr<v1::PreviewScheduleResponse> TestServer::Preview(
    const v1::PreviewScheduleRequest& request) {
  return Call(&v1::SchedulerService::Stub::PreviewSchedule, request);
}

bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

}  // namespace lrsched::testing
