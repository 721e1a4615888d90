// WatchJob: every event from a sequence number on, across reconnects, until
// the job is deleted; a reader that falls behind is dropped, not buffered.
#include <thread>
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
using ::testing::HasSubstr;

constexpr char kPlateauJob[] = R"({"job_id": "w", "base_lrs": [0.1],
    "spec": {"reduce_lr_on_plateau": {"patience": 0}}, "world_size": 2})";

// Reads events until `count` arrived or the stream ended; returns them.
std::vector<v1::JobEvent> Read(grpc::ClientReader<v1::JobEvent>& reader, size_t count) {
  std::vector<v1::JobEvent> events;
  v1::JobEvent event;
  while (events.size() < count && reader.Read(&event)) events.push_back(event);
  return events;
}

void Drive(TestServer& server, int64_t from_step, int64_t to_step) {
  for (int64_t step = from_step; step < to_step; ++step) {
    ASSERT_THAT(server.Step("w", 0, step), IsOk());
    ASSERT_THAT(server.ReportMetric("w", 0, step, 1.0), IsOk());
    ASSERT_THAT(server.ReportMetric("w", 1, step, 1.0), IsOk());
  }
}

TEST(WatchJobTest, AReconnectingWatcherMissesNoEvent) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  std::vector<v1::JobEvent> all;
  {
    grpc::ClientContext context;
    auto reader = server.stub().WatchJob(&context, FromJson<v1::WatchJobRequest>(R"({"job_id": "w"})"));
    Drive(server, 0, 3);
    all = Read(*reader, 5);
    context.TryCancel();
  }
  ASSERT_EQ(all.size(), 5u);
  Drive(server, 3, 6);  // events happen while nobody watches
  grpc::ClientContext context;
  v1::WatchJobRequest request;
  request.set_job_id("w");
  request.set_from_sequence(all.back().sequence() + 1);
  auto reader = server.stub().WatchJob(&context, request);
  const int64_t last = server.GetJob("w")->last_sequence();
  for (const auto& event : Read(*reader, last - all.back().sequence())) all.push_back(event);
  ASSERT_EQ(static_cast<int64_t>(all.size()), last);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].sequence(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(all[i].job_id(), "w");
  }
  EXPECT_TRUE(all[0].has_created());
  int aggregated = 0;
  for (const auto& event : all) aggregated += event.has_step_aggregated();
  EXPECT_EQ(aggregated, 6);
  context.TryCancel();
}

TEST(WatchJobTest, EndsAfterTheDeletedEvent) {
  TestServer server;
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  grpc::ClientContext context;
  auto reader = server.stub().WatchJob(&context, FromJson<v1::WatchJobRequest>(R"({"job_id": "w"})"));
  ASSERT_EQ(Read(*reader, 1).size(), 1u);
  ASSERT_THAT(server.Call(&v1::SchedulerService::Stub::DeleteJob,
                          FromJson<v1::DeleteJobRequest>(R"({"job_id": "w"})")),
              IsOk());
  auto rest = Read(*reader, 100);
  ASSERT_FALSE(rest.empty());
  EXPECT_TRUE(rest.back().has_deleted());
  EXPECT_TRUE(reader->Finish().ok());
}

TEST(WatchJobTest, EventsOlderThanTheJobKeepsAreOutOfRange) {
  ServerOptions options;
  options.job.max_events = 4;
  TestServer server(options);
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  Drive(server, 0, 2);
  grpc::ClientContext context;
  auto reader = server.stub().WatchJob(&context, FromJson<v1::WatchJobRequest>(R"({"job_id": "w"})"));
  v1::JobEvent event;
  EXPECT_FALSE(reader->Read(&event));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(status.error_message(), HasSubstr("no longer kept"));
}

TEST(WatchJobTest, AReaderThatFallsBehindIsDroppedWithResourceExhausted) {
  ServerOptions options;
  options.job.max_events = 8;
  TestServer server(options);
  ASSERT_THAT(server.CreateJob(kPlateauJob), IsOk());
  // A reader on its own connection with a small flow-control window: the
  // server can send it only a few events ahead of what it reads.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto slow_stub = v1::SchedulerService::NewStub(
      grpc::CreateCustomChannel(server.address(), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  auto reader = slow_stub->WatchJob(&context, FromJson<v1::WatchJobRequest>(R"({"job_id": "w"})"));
  ASSERT_EQ(Read(*reader, 1).size(), 1u);
  // Far more events than the job keeps, while the reader does not read: the
  // server finds the reader's next event gone.
  Drive(server, 0, 400);
  v1::JobEvent event;
  while (reader->Read(&event)) {
  }
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("fell behind"));
}

}  // namespace
}  // namespace lrsched
