// Every signal a process manager or a person is likely to send does what the
// README says, never a silent death: SIGHUP, SIGUSR1 and SIGUSR2 are logged
// and ignored (the server goes on serving, every job intact), SIGQUIT drains
// like SIGTERM and SIGINT.
#include <signal.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_directory.h"

namespace lrsched {
namespace {

using ::lrsched::testing::ServerProcess;
using ::testing::HasSubstr;

class SignalsTest : public ::testing::Test {
 protected:
  std::unique_ptr<ServerProcess> Start() {
    return std::make_unique<ServerProcess>(
        LRSCHED_SERVER_BINARY,
        std::vector<std::string>{"--listen=127.0.0.1:0", "--state=" + directory_.File("state.db"),
                                 "--log_format=json", "--drain_timeout=2s"},
        log_path());
  }
  std::string log_path() const { return directory_.File("server.log"); }
  std::string Log() const {
    std::ifstream in(log_path());
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  ::lrsched::testing::TempDirectory directory_;
};

bool Serving(int port) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, request, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

TEST_F(SignalsTest, HangUpAndUserSignalsAreLoggedAndIgnored) {
  auto server = Start();
  ASSERT_GT(server->port(), 0);
  for (int signal : {SIGHUP, SIGUSR1, SIGUSR2}) {
    server->Signal(signal);
    // Still there, and still serving, after the signal had time to act.
    EXPECT_EQ(server->WaitForExit(absl::Milliseconds(300)), -1) << strsignal(signal);
    EXPECT_TRUE(Serving(server->port())) << strsignal(signal);
  }
  server->Signal(SIGTERM);
  EXPECT_EQ(server->WaitForExit(absl::Seconds(20)), 0);
  const std::string log = Log();
  for (const char* name : {"Hangup", "User defined signal 1", "User defined signal 2"}) {
    EXPECT_THAT(log, HasSubstr(absl::StrCat(R"("event":"signal_ignored","signal":")", name)))
        << log;
  }
}

TEST_F(SignalsTest, QuitDrainsLikeTerm) {
  auto server = Start();
  ASSERT_GT(server->port(), 0);
  server->Signal(SIGQUIT);
  EXPECT_EQ(server->WaitForExit(absl::Seconds(20)), 0);
  const std::string log = Log();
  EXPECT_THAT(log, HasSubstr(R"("event":"server_stopping","signal":"Quit")")) << log;
  EXPECT_THAT(log, HasSubstr(R"("event":"server_stopped")")) << log;
}

}  // namespace
}  // namespace lrsched
