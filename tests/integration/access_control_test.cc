// lrsched-server as a real process with --auth_tokens_file: every RPC
// against every role, no credentials and an unknown token, a worker held to
// its job-id prefix; the expected code every time, and the jobs unchanged by
// every refused call. Then a viewer's list held to its prefix, the file read
// again while the server runs (a broken one refused, the callers before it
// kept), and lrschedctl with a token from a file.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_directory.h"

namespace lrsched {
namespace {

using ::lrsched::testing::ServerProcess;
using ::lrsched::testing::TempDirectory;
using ::testing::ElementsAre;

constexpr char kOperator[] = "operator-token-0123456789";
constexpr char kViewer[] = "viewer-token-0123456789";
constexpr char kWorkerA[] = "worker-a-token-0123456789";
constexpr char kViewerA[] = "viewer-a-token-0123456789";

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path + ".new");
  out << text;
  out.close();
  // Renamed over the old file, as Kubernetes swaps a Secret's files.
  std::rename((path + ".new").c_str(), path.c_str());
}

// The callers' file; the last one given by the SHA-256 of its token, as a
// file may hold a token's digest rather than the token.
std::string Callers(const std::string& viewer_a_sha256) {
  return absl::StrCat(R"(callers:
  - name: ops
    role: operator
    token: )",
                      kOperator, R"(
  - name: dashboard
    role: viewer
    token: )",
                      kViewer, R"(
  - name: team-a-trainers
    role: worker
    job_prefix: a-
    token: )",
                      kWorkerA, R"(
  - name: team-a-dashboard
    role: viewer
    job_prefix: a-
    token_sha256: )",
                      viewer_a_sha256, "\n");
}

std::string Sha256Hex(const std::string& text) {
  TempDirectory dir;
  const std::string command =
      absl::StrCat("printf '%s' '", text, "' | sha256sum | cut -d' ' -f1 > ", dir.File("sum"));
  EXPECT_EQ(std::system(command.c_str()), 0);
  std::ifstream in(dir.File("sum"));
  std::string sum;
  in >> sum;
  return sum;
}

class AccessControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokens_file_ = dir_.File("tokens.yaml");
    Write(tokens_file_, Callers(Sha256Hex(kViewerA)));
    server_ = std::make_unique<ServerProcess>(
        LRSCHED_SERVER_BINARY,
        std::vector<std::string>{"--listen=127.0.0.1:0", "--state=" + dir_.File("state.db"),
                                 "--auth_tokens_file=" + tokens_file_},
        dir_.File("server.log"));
    ASSERT_GT(server_->port(), 0);
    stub_ = v1::SchedulerService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
    for (const char* id : {"a-x", "b-x"}) {
      v1::CreateJobRequest create;
      create.set_job_id(id);
      create.add_base_lrs(0.1);
      create.set_world_size(1);
      create.mutable_spec()->mutable_reduce_lr_on_plateau()->set_patience(1);
      v1::Job job;
      ASSERT_TRUE(Call(kOperator, [&](grpc::ClientContext* context) {
                    return stub_->CreateJob(context, create, &job);
                  }).ok());
    }
  }

  // One call with `token` ("" for none).
  grpc::Status Call(const std::string& token,
                    const std::function<grpc::Status(grpc::ClientContext*)>& call) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    return call(&context);
  }

  // Every job as the operator sees it: what a refused call must not change.
  std::string Jobs() {
    v1::ListJobsRequest request;
    request.set_view(v1::JOB_VIEW_FULL);
    v1::ListJobsResponse response;
    EXPECT_TRUE(Call(kOperator, [&](grpc::ClientContext* context) {
                  return stub_->ListJobs(context, request, &response);
                }).ok());
    std::string json;
    google::protobuf::util::MessageToJsonString(response, &json);
    return json;
  }

  // The RPC `name` on `job`, built so that it succeeds when allowed.
  grpc::Status Rpc(const std::string& name, const std::string& token, const std::string& job) {
    return Call(token, [&](grpc::ClientContext* context) -> grpc::Status {
      if (name == "CreateJob") {
        v1::CreateJobRequest request;
        request.set_job_id(job + "-new");
        request.add_base_lrs(0.1);
        request.mutable_spec()->mutable_step_lr()->set_step_size(3);
        v1::Job response;
        return stub_->CreateJob(context, request, &response);
      }
      if (name == "GetJob") {
        v1::GetJobRequest request;
        request.set_job_id(job);
        v1::Job response;
        return stub_->GetJob(context, request, &response);
      }
      if (name == "ListJobs") {
        v1::ListJobsResponse response;
        return stub_->ListJobs(context, v1::ListJobsRequest(), &response);
      }
      if (name == "DeleteJob") {
        v1::DeleteJobRequest request;
        request.set_job_id(job + "-gone");  // none such: NOT_FOUND when allowed
        v1::DeleteJobResponse response;
        return stub_->DeleteJob(context, request, &response);
      }
      if (name == "Step") {
        v1::StepRequest request;
        request.set_job_id(job);
        request.set_step(0);
        v1::StepResponse response;
        return stub_->Step(context, request, &response);
      }
      if (name == "ReportMetric") {
        v1::ReportMetricRequest request;
        request.set_job_id(job);
        request.set_step(0);
        request.set_value(1.0);
        v1::ReportMetricResponse response;
        return stub_->ReportMetric(context, request, &response);
      }
      if (name == "SetLearningRate") {
        v1::SetLearningRateRequest request;
        request.set_job_id(job);
        request.set_factor(0.5);
        v1::SetLearningRateResponse response;
        return stub_->SetLearningRate(context, request, &response);
      }
      if (name == "SetWorldSize") {
        v1::SetWorldSizeRequest request;
        request.set_job_id(job);
        request.set_world_size(1);
        v1::Job response;
        return stub_->SetWorldSize(context, request, &response);
      }
      if (name == "WatchJob") {
        v1::WatchJobRequest request;
        request.set_job_id(job);
        auto reader = stub_->WatchJob(context, request);
        v1::JobEvent event;
        if (reader->Read(&event)) {
          context->TryCancel();
          reader->Finish().IgnoreError();
          return grpc::Status::OK;
        }
        return reader->Finish();
      }
      if (name == "PreviewSchedule") {
        v1::PreviewScheduleRequest request;
        request.mutable_spec()->mutable_step_lr()->set_step_size(3);
        request.add_base_lrs(0.1);
        request.set_steps(10);
        v1::PreviewScheduleResponse response;
        return stub_->PreviewSchedule(context, request, &response);
      }
      ADD_FAILURE() << "no RPC " << name;
      return grpc::Status::CANCELLED;
    });
  }

  TempDirectory dir_;
  std::string tokens_file_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::SchedulerService::Stub> stub_;
};

TEST_F(AccessControlTest, EveryRpcAgainstEveryRoleGetsItsCodeAndRefusalsChangeNothing) {
  using grpc::StatusCode;
  constexpr StatusCode OK = StatusCode::OK, DENIED = StatusCode::PERMISSION_DENIED,
                       UNAUTHENTICATED = StatusCode::UNAUTHENTICATED,
                       NOT_FOUND = StatusCode::NOT_FOUND;
  struct Row {
    std::string rpc;
    // For: no credentials, an unknown token, operator, viewer, the worker of
    // prefix a- on its own job a-x, the same worker on b-x.
    StatusCode none, unknown, operator_, viewer, worker_own, worker_other;
  };
  const Row table[] = {
      {"CreateJob", UNAUTHENTICATED, UNAUTHENTICATED, OK, DENIED, OK, DENIED},
      {"GetJob", UNAUTHENTICATED, UNAUTHENTICATED, OK, OK, OK, DENIED},
      {"ListJobs", UNAUTHENTICATED, UNAUTHENTICATED, OK, OK, DENIED, DENIED},
      {"DeleteJob", UNAUTHENTICATED, UNAUTHENTICATED, NOT_FOUND, DENIED, DENIED, DENIED},
      {"Step", UNAUTHENTICATED, UNAUTHENTICATED, OK, DENIED, OK, DENIED},
      {"ReportMetric", UNAUTHENTICATED, UNAUTHENTICATED, OK, DENIED, OK, DENIED},
      {"SetLearningRate", UNAUTHENTICATED, UNAUTHENTICATED, OK, DENIED, DENIED, DENIED},
      {"SetWorldSize", UNAUTHENTICATED, UNAUTHENTICATED, OK, DENIED, DENIED, DENIED},
      {"WatchJob", UNAUTHENTICATED, UNAUTHENTICATED, OK, OK, OK, DENIED},
      {"PreviewSchedule", UNAUTHENTICATED, UNAUTHENTICATED, OK, OK, DENIED, DENIED},
  };
  for (const Row& row : table) {
    const struct {
      std::string who, token, job;
      StatusCode want;
    } calls[] = {
        {"no credentials", "", "a-x", row.none},
        {"an unknown token", "not-a-known-token-0123456789", "a-x", row.unknown},
        {"the operator", kOperator, "b-x", row.operator_},
        {"a viewer", kViewer, "b-x", row.viewer},
        {"the worker of a- on a-x", kWorkerA, "a-x", row.worker_own},
        {"the worker of a- on b-x", kWorkerA, "b-x", row.worker_other},
    };
    for (const auto& call : calls) {
      const std::string before = Jobs();
      const grpc::Status status = Rpc(row.rpc, call.token, call.job);
      EXPECT_EQ(status.error_code(), call.want)
          << row.rpc << " by " << call.who << ": " << status.error_message();
      if (status.error_code() == StatusCode::UNAUTHENTICATED ||
          status.error_code() == StatusCode::PERMISSION_DENIED) {
        EXPECT_EQ(Jobs(), before) << row.rpc << " by " << call.who << " changed the jobs";
      }
    }
  }
  // Every method of the service is in the table: a new RPC gets a row (and
  // a check in its handler) before it ships.
  const auto* descriptor = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      v1::SchedulerService::service_full_name());
  ASSERT_NE(descriptor, nullptr);
  for (int m = 0; m < descriptor->method_count(); ++m) {
    const std::string& method = descriptor->method(m)->name();
    EXPECT_TRUE(std::any_of(std::begin(table), std::end(table),
                            [&](const Row& row) { return row.rpc == method; }))
        << method << " is not in the table";
  }
  // A refusal does not tell whether the job exists.
  const grpc::Status existing = Rpc("GetJob", kWorkerA, "b-x");
  const grpc::Status missing = Rpc("GetJob", kWorkerA, "b-nothing");
  EXPECT_EQ(existing.error_code(), missing.error_code());
  EXPECT_EQ(existing.error_message(), missing.error_message());
}

TEST_F(AccessControlTest, AViewerWithAPrefixListsOnlyItsJobs) {
  for (const char* id : {"a-y", "a-z", "b-y", "c-x", "a"}) {
    v1::CreateJobRequest create;
    create.set_job_id(id);
    create.add_base_lrs(0.1);
    create.mutable_spec()->mutable_step_lr()->set_step_size(3);
    v1::Job job;
    ASSERT_TRUE(Call(kOperator, [&](grpc::ClientContext* context) {
                  return stub_->CreateJob(context, create, &job);
                }).ok());
  }
  // Pages of one: the page tokens walk the prefix's jobs only.
  std::vector<std::string> seen;
  v1::ListJobsRequest request;
  request.set_page_size(1);
  do {
    v1::ListJobsResponse response;
    ASSERT_TRUE(Call(kViewerA, [&](grpc::ClientContext* context) {
                  return stub_->ListJobs(context, request, &response);
                }).ok());
    for (const v1::Job& job : response.jobs()) seen.push_back(job.job_id());
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty() && seen.size() < 10);
  EXPECT_THAT(seen, ElementsAre("a-x", "a-y", "a-z"));
}

TEST_F(AccessControlTest, TheFileIsReadAgainWhenItChangesAndABrokenOneIsRefused) {
  const auto get_as = [&](const std::string& token) {
    return Rpc("GetJob", token, "a-x").error_code();
  };
  ASSERT_EQ(get_as(kViewer), grpc::StatusCode::OK);
  constexpr char kNew[] = "a-new-token-0123456789";
  // The dashboard's token replaced by a new one (a rotation).
  std::string rotated = Callers(Sha256Hex(kViewerA));
  rotated.replace(rotated.find(kViewer), std::string(kViewer).size(), kNew);
  Write(tokens_file_, rotated);
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (get_as(kNew) != grpc::StatusCode::OK && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(get_as(kNew), grpc::StatusCode::OK);
  EXPECT_EQ(get_as(kViewer), grpc::StatusCode::UNAUTHENTICATED);

  // A broken file: the callers read before stay.
  Write(tokens_file_, "callers:\n  - name: x\n    role: superuser\n    token: x\n");
  std::string log;
  const absl::Time wait_log = absl::Now() + absl::Seconds(30);
  while (log.find("auth_tokens_refused") == std::string::npos && absl::Now() < wait_log) {
    absl::SleepFor(absl::Milliseconds(100));
    std::ifstream in(dir_.File("server.log"));
    std::stringstream text;
    text << in.rdbuf();
    log = text.str();
  }
  EXPECT_THAT(log, ::testing::HasSubstr("callers[0].role: must be worker, viewer or operator"));
  EXPECT_EQ(get_as(kNew), grpc::StatusCode::OK);
}

TEST_F(AccessControlTest, LrschedctlCallsWithATokenFromAFile) {
  Write(dir_.File("viewer.token"), std::string(kViewer) + "\n");
  const std::string ctl =
      absl::StrCat(LRSCHEDCTL_BINARY, " --server=127.0.0.1:", server_->port(), " --timeout=5s");
  const auto run = [](const std::string& command) {
    const int status = std::system((command + " > /dev/null 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(run(absl::StrCat(ctl, " --token_file=", dir_.File("viewer.token"), " list")), 0);
  EXPECT_EQ(
      run(absl::StrCat("LRSCHED_TOKEN_FILE=", dir_.File("viewer.token"), " ", ctl, " get a-x")), 0);
  EXPECT_EQ(run(absl::StrCat(ctl, " --token_file=", dir_.File("viewer.token"), " delete a-x")), 1)
      << "a viewer may not delete";
  EXPECT_EQ(run(absl::StrCat(ctl, " list")), 1) << "no token";
  EXPECT_EQ(run(absl::StrCat(ctl, " --token_file=", dir_.File("missing"), " list")), 2);
}

}  // namespace
}  // namespace lrsched
