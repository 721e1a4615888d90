// lrsched-server and its state file as an operator meets them: one server
// per state file and per port, a refusal that names the file, the holder or
// the address, and a restart after kill -9 that no stale lock blocks.
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_directory.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

namespace fs = std::filesystem;
using ::lrsched::testing::IsOk;
using ::lrsched::testing::ServerProcess;
using ::lrsched::testing::StatusIs;
using ::lrsched::testing::TestServer;
using ::testing::AllOf;
using ::testing::HasSubstr;

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = directory_.File("state.db");
    errors_ = directory_.File("stderr.txt");
  }

  std::string Errors() const {
    std::ifstream in(errors_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  ::lrsched::testing::TempDirectory directory_;
  std::string state_;
  std::string errors_;
};

TEST_F(StateFileTest, ASecondServerOnTheFileIsRefusedAndAKilledOneIsReplacedAtOnce) {
  auto first = std::make_unique<ServerProcess>(
      LRSCHED_SERVER_BINARY, std::vector<std::string>{"--listen=127.0.0.1:0", "--state=" + state_});
  const int port = first->port();
  ASSERT_GT(port, 0);

  ServerProcess second(LRSCHED_SERVER_BINARY,
                       {"--listen=127.0.0.1:0", "--state=" + state_}, errors_);
  EXPECT_EQ(second.port(), 0);
  EXPECT_EQ(second.WaitForExit(absl::Seconds(30)), 1);
  EXPECT_THAT(Errors(), AllOf(HasSubstr(absl::StrCat("state file ", state_, ": in use")),
                              HasSubstr(absl::StrCat("pid ", first->pid())),
                              HasSubstr(state_ + ".lock")));

  // kill -9 leaves no lock behind: a new server takes the file, and the
  // port, at once.
  first->Signal(SIGKILL);
  ASSERT_EQ(first->WaitForExit(absl::Seconds(30)), 128 + SIGKILL);
  first = std::make_unique<ServerProcess>(
      LRSCHED_SERVER_BINARY,
      std::vector<std::string>{absl::StrCat("--listen=127.0.0.1:", port), "--state=" + state_});
  EXPECT_EQ(first->port(), port);
}

TEST_F(StateFileTest, ASecondServerOnTheSamePortFailsNamingTheAddress) {
  TestServer first;
  const std::string address = absl::StrCat("127.0.0.1:", first.server().port());
  ServerOptions options;
  options.listen = address;
  EXPECT_THAT(Server::Start(options),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr(absl::StrCat("cannot listen on ", address)),
                             HasSubstr("another process"))));

  ServerProcess second(LRSCHED_SERVER_BINARY, {"--listen=" + address, "--state=:memory:"},
                       errors_);
  EXPECT_EQ(second.WaitForExit(absl::Seconds(30)), 1);
  EXPECT_THAT(Errors(), AllOf(HasSubstr(absl::StrCat("cannot listen on ", address)),
                              HasSubstr("in use")));
  // The first server still has every connection.
  EXPECT_THAT(first.CreateJob(R"({"job_id": "a", "base_lrs": [0.1],
                                  "spec": {"constant_lr": {}}})"),
              IsOk());
}

TEST_F(StateFileTest, AnEmptyStateFileIsRefusedAndLeftAsItIs) {
  std::ofstream{state_};
  ServerProcess server(LRSCHED_SERVER_BINARY, {"--listen=127.0.0.1:0", "--state=" + state_},
                       errors_);
  EXPECT_EQ(server.WaitForExit(absl::Seconds(30)), 1);
  EXPECT_THAT(Errors(), AllOf(HasSubstr(absl::StrCat("state file ", state_)),
                              HasSubstr("empty (0 bytes)"), HasSubstr("Delete it")));
  EXPECT_EQ(fs::file_size(state_), 0u);
}

// A job whose log cannot be rebuilt is quarantined by the real binary: it
// starts, serves the other jobs, shows the damaged one with the reason,
// answers DATA_LOSS for it, and logs it.
TEST_F(StateFileTest, ADamagedJobIsQuarantinedAndTheOthersAreServed) {
  const auto stub_of = [](int port) {
    return v1::SchedulerService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  };
  const auto call = [](auto& stub, auto method, const auto& request, auto* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ((*stub).*method)(&context, request, response);
  };
  {
    ServerProcess server(LRSCHED_SERVER_BINARY,
                         {"--listen=127.0.0.1:0", "--state=" + state_});
    ASSERT_GT(server.port(), 0);
    auto stub = stub_of(server.port());
    for (const char* json : {R"({"job_id": "damaged", "base_lrs": [0.1],
                                 "spec": {"step_lr": {"step_size": 2}}})",
                             R"({"job_id": "healthy", "base_lrs": [0.1],
                                 "spec": {"step_lr": {"step_size": 2}}})"}) {
      v1::Job job;
      ASSERT_TRUE(call(stub, &v1::SchedulerService::Stub::CreateJob,
                       ::lrsched::testing::FromJson<v1::CreateJobRequest>(json), &job)
                      .ok());
    }
    v1::StepRequest step;
    step.set_job_id("damaged");
    v1::StepResponse values;
    ASSERT_TRUE(call(stub, &v1::SchedulerService::Stub::Step, step, &values).ok());
    server.Signal(SIGTERM);
    ASSERT_EQ(server.WaitForExit(absl::Seconds(10)), 0);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(state_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE events SET event = x'ffffffff' WHERE job_id = 'damaged' "
                             "AND sequence = 2",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  ServerProcess server(LRSCHED_SERVER_BINARY, {"--listen=127.0.0.1:0", "--state=" + state_},
                       errors_);
  ASSERT_GT(server.port(), 0) << Errors();
  auto stub = stub_of(server.port());
  v1::GetJobRequest get;
  get.set_job_id("damaged");
  v1::Job job;
  ASSERT_TRUE(call(stub, &v1::SchedulerService::Stub::GetJob, get, &job).ok());
  EXPECT_THAT(job.damaged(), HasSubstr("job damaged event 2 does not parse"));
  v1::StepRequest step;
  step.set_job_id("damaged");
  v1::StepResponse values;
  const grpc::Status refused = call(stub, &v1::SchedulerService::Stub::Step, step, &values);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(refused.error_message(), HasSubstr("event 2 does not parse"));
  step.set_job_id("healthy");
  EXPECT_TRUE(call(stub, &v1::SchedulerService::Stub::Step, step, &values).ok());
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(absl::Seconds(10)), 0);
  EXPECT_THAT(Errors(), AllOf(HasSubstr("damaged"), HasSubstr("does not parse")));
}

}  // namespace
}  // namespace lrsched
