// lrsched-server as a real process with its limits on what one client can
// take, each tried at its boundary: the largest request it reads, the calls
// in flight on one connection, the WatchJob streams of one caller and the
// jobs of one caller.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_directory.h"

namespace lrsched {
namespace {

using ::lrsched::testing::ServerProcess;
using ::lrsched::testing::TempDirectory;
using ::testing::HasSubstr;

std::unique_ptr<v1::SchedulerService::Stub> Connect(int port) {
  grpc::ChannelArguments arguments;
  // A connection of its own, not shared with another stub of the test.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  arguments.SetMaxReceiveMessageSize(-1);
  return v1::SchedulerService::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), arguments));
}

grpc::Status CreatePlateau(v1::SchedulerService::Stub& stub, const std::string& id,
                           const std::string& token = "") {
  grpc::ClientContext context;
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  v1::CreateJobRequest request;
  request.set_job_id(id);
  request.add_base_lrs(0.1);
  request.mutable_spec()->mutable_reduce_lr_on_plateau();
  v1::Job job;
  return stub.CreateJob(&context, request, &job);
}

// A WatchJob stream that has received its first event.
struct Watch {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader;
  v1::JobEvent first;

  grpc::Status Open(v1::SchedulerService::Stub& stub, const std::string& job,
                    absl::Duration deadline = absl::Seconds(30)) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    v1::WatchJobRequest request;
    request.set_job_id(job);
    reader = stub.WatchJob(&context, request);
    if (reader->Read(&first)) return grpc::Status::OK;
    return reader->Finish();
  }
  void Close() {
    context.TryCancel();
    reader->Finish().IgnoreError();
  }
};

TEST(LimitsTest, ARequestOneByteOverTheLargestIsRefusedBeforeItIsRead) {
  v1::PreviewScheduleRequest request;
  // patience 1 is one byte as a varint; 200 takes two.
  request.mutable_spec()->mutable_reduce_lr_on_plateau()->set_patience(1);
  request.add_base_lrs(0.1);
  request.set_steps(20000);
  for (int i = 0; i < 20000; ++i) request.add_metrics(1.0 / (i + 1));
  const size_t largest = request.ByteSizeLong();
  TempDirectory dir;
  ServerProcess server(LRSCHED_SERVER_BINARY,
                       {"--listen=127.0.0.1:0",
                        "--state=:memory:", absl::StrCat("--max_receive_message_bytes=", largest)});
  ASSERT_GT(server.port(), 0);
  auto stub = Connect(server.port());
  {
    grpc::ClientContext context;
    v1::PreviewScheduleResponse response;
    const grpc::Status answered = stub->PreviewSchedule(&context, request, &response);
    EXPECT_TRUE(answered.ok()) << answered.error_message();
  }
  request.mutable_spec()->mutable_reduce_lr_on_plateau()->set_patience(200);
  ASSERT_EQ(request.ByteSizeLong(), largest + 1);
  grpc::ClientContext context;
  v1::PreviewScheduleResponse response;
  const grpc::Status refused = stub->PreviewSchedule(&context, request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr(absl::StrCat(largest)));
}

TEST(LimitsTest, CallsPastTheConcurrentStreamsOfOneConnectionWaitForOneToEnd) {
  ServerProcess server(LRSCHED_SERVER_BINARY,
                       {"--listen=127.0.0.1:0", "--state=:memory:", "--max_concurrent_streams=2"});
  ASSERT_GT(server.port(), 0);
  auto stub = Connect(server.port());
  ASSERT_TRUE(CreatePlateau(*stub, "w").ok());
  Watch first, second, third;
  ASSERT_TRUE(first.Open(*stub, "w").ok());
  ASSERT_TRUE(second.Open(*stub, "w").ok());
  // Queued by the client's transport, never answered while two are open.
  EXPECT_EQ(third.Open(*stub, "w", absl::Seconds(1)).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // Another connection has streams of its own.
  auto other = Connect(server.port());
  Watch elsewhere;
  EXPECT_TRUE(elsewhere.Open(*other, "w").ok());
  first.Close();
  Watch after;
  EXPECT_TRUE(after.Open(*stub, "w").ok()) << "a stream ended, so the next one runs";
  for (Watch* watch : {&second, &elsewhere, &after}) watch->Close();
}

TEST(LimitsTest, ACallerGetsItsWatchStreamsAndAnotherOnlyOnceOneCloses) {
  ServerProcess server(
      LRSCHED_SERVER_BINARY,
      {"--listen=127.0.0.1:0", "--state=:memory:", "--max_watch_streams_per_caller=2"});
  ASSERT_GT(server.port(), 0);
  auto stub = Connect(server.port());
  ASSERT_TRUE(CreatePlateau(*stub, "w").ok());
  Watch first, second, third;
  ASSERT_TRUE(first.Open(*stub, "w").ok());
  // From another connection of the same host: the same caller.
  auto other = Connect(server.port());
  ASSERT_TRUE(second.Open(*other, "w").ok());
  const grpc::Status refused = third.Open(*stub, "w");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("--max_watch_streams_per_caller"));
  first.Close();
  // The server counts the stream out when gRPC is done with it, just after
  // the client's cancel: asked again until then.
  grpc::Status reopened;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  do {
    Watch again;
    reopened = again.Open(*stub, "w");
    if (reopened.ok()) {
      again.Close();
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  } while (absl::Now() < give_up);
  EXPECT_TRUE(reopened.ok()) << reopened.error_message();
  second.Close();
}

TEST(LimitsTest, ACallerWithAPrefixHoldsAtMostItsJobs) {
  TempDirectory dir;
  {
    std::ofstream tokens(dir.File("tokens.yaml"));
    tokens << "callers:\n"
              "  - {name: ops, role: operator, token: operator-token-0123456789}\n"
              "  - {name: team-a, role: worker, job_prefix: a-, token: worker-token-0123456789}\n";
  }
  ServerProcess server(LRSCHED_SERVER_BINARY,
                       {"--listen=127.0.0.1:0", "--state=:memory:", "--max_jobs_per_caller=2",
                        "--auth_tokens_file=" + dir.File("tokens.yaml")});
  ASSERT_GT(server.port(), 0);
  auto stub = Connect(server.port());
  const std::string worker = "worker-token-0123456789", ops = "operator-token-0123456789";
  ASSERT_TRUE(CreatePlateau(*stub, "b-1", ops).ok()) << "not under the prefix: not counted";
  EXPECT_TRUE(CreatePlateau(*stub, "a-1", worker).ok());
  EXPECT_TRUE(CreatePlateau(*stub, "a-2", ops).ok()) << "under the prefix, whoever made it";
  const grpc::Status refused = CreatePlateau(*stub, "a-3", worker);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("team-a holds 2 jobs under 'a-'"));
  EXPECT_THAT(refused.error_message(), HasSubstr("--max_jobs_per_caller"));
  EXPECT_TRUE(CreatePlateau(*stub, "a-1", worker).ok()) << "joining a job it holds";
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + ops);
  v1::DeleteJobRequest request;
  request.set_job_id("a-1");
  v1::DeleteJobResponse deleted;
  ASSERT_TRUE(stub->DeleteJob(&context, request, &deleted).ok());
  EXPECT_TRUE(CreatePlateau(*stub, "a-3", worker).ok());
}

TEST(LimitsTest, RacingCreationsNeverPassACallersLimit) {
  TempDirectory dir;
  {
    std::ofstream tokens(dir.File("tokens.yaml"));
    tokens << "callers:\n"
              "  - {name: ops, role: operator, token: operator-token-0123456789}\n"
              "  - {name: team-a, role: worker, job_prefix: a-, token: worker-token-0123456789}\n";
  }
  ServerProcess server(
      LRSCHED_SERVER_BINARY,
      {"--listen=127.0.0.1:0", "--state=" + dir.File("state.db"), "--max_jobs_per_caller=5",
       "--auth_tokens_file=" + dir.File("tokens.yaml")});
  ASSERT_GT(server.port(), 0);
  // Many new jobs at once, each created while others are being written.
  std::vector<std::thread> racing;
  std::atomic<int> created{0};
  for (int connection = 0; connection < 8; ++connection) {
    racing.emplace_back([&, connection] {
      auto own = Connect(server.port());
      for (int i = 0; i < 5; ++i) {
        if (CreatePlateau(*own, absl::StrCat("a-", connection, "-", i), "worker-token-0123456789")
                .ok()) {
          ++created;
        }
      }
    });
  }
  for (std::thread& thread : racing) thread.join();
  EXPECT_EQ(created.load(), 5);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer operator-token-0123456789");
  v1::ListJobsResponse listed;
  ASSERT_TRUE(Connect(server.port())->ListJobs(&context, v1::ListJobsRequest(), &listed).ok());
  EXPECT_EQ(listed.jobs_size(), 5);
}

}  // namespace
}  // namespace lrsched
