// A real lrsched server on a loopback port the OS picks, and a client for it.
#ifndef LRSCHED_TESTS_TESTING_TEST_SERVER_H_
#define LRSCHED_TESTS_TESTING_TEST_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "proto/status_conversion.h"
#include "service/server/server.h"

namespace lrsched::testing {

// A message from its proto3 JSON form; a parse error fails the test.
template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << json << ": " << status.ToString();
  return message;
}

class TestServer {
 public:
  explicit TestServer(ServerOptions options = {});

  Server& server() { return *server_; }
  std::string address() const;
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  v1::SchedulerService::Stub& stub() { return *stub_; }

  // Each call has a deadline of `timeout`.
  absl::StatusOr<v1::Job> CreateJob(const v1::CreateJobRequest& request);
  absl::StatusOr<v1::Job> CreateJob(const std::string& json) {
    return CreateJob(FromJson<v1::CreateJobRequest>(json));
  }
  absl::StatusOr<v1::Job> GetJob(const std::string& job_id);
  absl::StatusOr<v1::StepResponse> Step(const std::string& job_id, int rank, int64_t step,
                                        int64_t look_ahead = 0,
                                        absl::Duration timeout = absl::Seconds(30));
  absl::StatusOr<v1::ReportMetricResponse> ReportMetric(const std::string& job_id, int rank,
                                                        int64_t step, double value,
                                                        double weight = 1);
  absl::StatusOr<v1::SetLearningRateResponse> SetLearningRate(
      const v1::SetLearningRateRequest& request);
  absl::StatusOr<v1::PreviewScheduleResponse> Preview(const v1::PreviewScheduleRequest& request);

  // Calls `method` of the stub with a deadline and converts the status.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (v1::SchedulerService::Stub::*method)(grpc::ClientContext*, const Request&,
                                                          Response*),
      const Request& request, absl::Duration timeout = absl::Seconds(30)) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    Response response;
    const grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

 private:
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::SchedulerService::Stub> stub_;
};

// Polls `condition` until it holds or `timeout` passes; returns whether it
// held. For conditions only observable from outside (a parked call).
bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(30));

}  // namespace lrsched::testing

#endif  // LRSCHED_TESTS_TESTING_TEST_SERVER_H_
