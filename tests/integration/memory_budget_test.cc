// The server's memory budget: every job is charged for its largest size when
// it is created, so that many wide jobs are refused at creation rather than
// exhausting the server mid-run; previews are charged while in flight; a
// deletion gives the room back; jobs rebuilt at start are always taken.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_directory.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

using ::lrsched::testing::FromJson;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::lrsched::testing::TestServer;
using ::testing::AllOf;
using ::testing::HasSubstr;

// OneCycleLR with 1,024 groups: values and momentums for every step of the
// window: 157 MiB with the default window of 10,000 steps.
v1::CreateJobRequest WideJob(const std::string& id) {
  auto request = FromJson<v1::CreateJobRequest>(
      R"({"spec": {"one_cycle_lr": {"max_lr": [1.0], "total_steps": 100000}}})");
  request.set_job_id(id);
  for (int g = 0; g < 1024; ++g) request.add_base_lrs(0.1);
  request.mutable_spec()->mutable_one_cycle_lr()->mutable_max_lr()->Resize(1024, 1.0);
  return request;
}

TEST(MemoryBudgetTest, WideJobsAreRefusedAtCreationAndADeletionGivesTheRoomBack) {
  testing::TempDirectory directory;
  ServerOptions options;
  options.state = directory.File("state.db");
  options.memory_budget = int64_t{1} << 30;
  int created = 0;
  {
    TestServer server(options);
    absl::StatusOr<v1::Job> job;
    while ((job = server.CreateJob(WideJob(absl::StrCat("w", created)))).ok()) ++created;
    EXPECT_THAT(job, StatusIs(absl::StatusCode::kResourceExhausted,
                              AllOf(HasSubstr("memory budget"), HasSubstr("--memory_budget"),
                                    HasSubstr("1024 groups"))));
    // 157 MiB each: six fit in 1 GiB, the seventh does not.
    EXPECT_EQ(created, 6);
    const int64_t charged = server.server().memory_budget().charged();
    EXPECT_GT(charged, int64_t{6} * 156 << 20);
    EXPECT_LE(charged, int64_t{1} << 30);
    // A small job still fits; the refused one changed nothing.
    EXPECT_THAT(server.CreateJob(R"({"job_id": "small", "base_lrs": [0.1],
        "spec": {"step_lr": {"step_size": 2}}})"),
                IsOk());
    EXPECT_THAT(server.GetJob(absl::StrCat("w", created)), StatusIs(absl::StatusCode::kNotFound, HasSubstr("does not exist")));
    ASSERT_THAT(server.Call(&v1::SchedulerService::Stub::DeleteJob,
                            FromJson<v1::DeleteJobRequest>(R"({"job_id": "w0"})")),
                IsOk());
    EXPECT_THAT(server.CreateJob(WideJob("again")), IsOk());
  }
  // A smaller budget after a restart: every job held comes back regardless.
  options.memory_budget = int64_t{256} << 20;
  TestServer server(options);
  EXPECT_EQ(server.server().recovered_jobs(), static_cast<size_t>(created + 1));
  EXPECT_GT(server.server().memory_budget().charged(), options.memory_budget);
  EXPECT_THAT(server.CreateJob(WideJob("more")),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("memory budget")));
}

TEST(MemoryBudgetTest, APreviewIsChargedWhileInFlightAndRefusedWhenItDoesNotFit) {
  ServerOptions options;
  options.memory_budget = int64_t{64} << 20;
  TestServer server(options);
  auto request = FromJson<v1::PreviewScheduleRequest>(
      R"({"spec": {"step_lr": {"step_size": 1}}, "base_lrs": [0.1]})");
  request.set_steps(2'000'000);
  EXPECT_THAT(server.Preview(request),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("memory budget"), HasSubstr("preview fewer steps"))));
  request.set_steps(100'000);
  auto answered = server.Preview(request);
  ASSERT_THAT(answered, IsOk());
  EXPECT_EQ(answered->values_size(), 100'001);
  // Given back once answered.
  EXPECT_TRUE(::lrsched::testing::WaitUntil(
      [&] { return server.server().memory_budget().charged() == 0; }));
}

}  // namespace
}  // namespace lrsched
