// lrsched-server as a real process, probed the way the Kubernetes kubelet
// probes it: plaintext grpc.health.v1.Health/Check with service "". After
// SIGTERM the probe sees NOT_SERVING or a closed connection, and the process
// exits 0 within its drain time.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::lrsched::testing::ServerProcess;

grpc::Status Probe(int port, const std::string& service, HealthCheckResponse* response) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  HealthCheckRequest request;
  request.set_service(service);
  return Health::NewStub(channel)->Check(&context, request, response);
}

TEST(KubeletProbeTest, ServingUntilSigtermThenNotServingAndExitZero) {
  ServerProcess server(LRSCHED_SERVER_BINARY,
                       {"--listen=127.0.0.1:0", "--state=:memory:", "--drain_timeout=3s"});
  ASSERT_GT(server.port(), 0);
  HealthCheckResponse response;
  ASSERT_TRUE(Probe(server.port(), "", &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  ASSERT_TRUE(Probe(server.port(), "lrsched.v1.SchedulerService", &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  server.Signal(SIGTERM);
  // The server may answer a probe or two before it handles the signal; then
  // NOT_SERVING, or a refused connection (UNAVAILABLE), or a call the stopping
  // server dropped (CANCELLED): to the kubelet, all mean not ready.
  grpc::Status after;
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  do {
    after = Probe(server.port(), "", &response);
  } while (after.ok() && response.status() == HealthCheckResponse::SERVING &&
           absl::Now() < give_up);
  if (after.ok()) {
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  } else {
    EXPECT_THAT(after.error_code(), ::testing::AnyOf(grpc::StatusCode::UNAVAILABLE,
                                                     grpc::StatusCode::CANCELLED))
        << after.error_message();
  }
  EXPECT_EQ(server.WaitForExit(absl::Seconds(10)), 0);
}

TEST(KubeletProbeTest, SigtermEndsAWaitingStepWithUnavailableAndStillExitsZero) {
  ServerProcess server(LRSCHED_SERVER_BINARY,
                       {"--listen=127.0.0.1:0", "--state=:memory:", "--drain_timeout=3s"});
  ASSERT_GT(server.port(), 0);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::SchedulerService::NewStub(channel);
  {
    grpc::ClientContext context;
    v1::Job job;
    ASSERT_TRUE(stub->CreateJob(&context,
                                testing::FromJson<v1::CreateJobRequest>(
                                    R"({"job_id": "p", "base_lrs": [0.1],
                                        "spec": {"reduce_lr_on_plateau": {}}})"),
                                &job)
                    .ok());
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::StepResponse step;
  grpc::Status status;
  absl::Notification done;
  const auto request = testing::FromJson<v1::StepRequest>(R"({"job_id": "p", "step": 1})");
  stub->async()->Step(&context, &request, &step, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  ASSERT_TRUE(testing::WaitUntil([&] {
    grpc::ClientContext get_context;
    v1::Job job;
    return stub->GetJob(&get_context, testing::FromJson<v1::GetJobRequest>(R"({"job_id": "p"})"),
                        &job)
               .ok() &&
           job.waiting_steps() == 1;
  }));
  server.Signal(SIGTERM);
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(server.WaitForExit(absl::Seconds(10)), 0);
}

}  // namespace
}  // namespace lrsched
