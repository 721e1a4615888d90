// lrsched-server as a real process serving TLS and mutual TLS, with
// certificates that openssl makes for each test (tests/testing/make_certs.sh):
// what must connect does, what must not (plaintext, another CA, an expired
// certificate, no client certificate) does not, a renewed certificate is
// served without a restart, the plaintext health port answers probes while
// the main port requires TLS, and wrong files stop the start with a clear
// error.
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_directory.h"

namespace lrsched {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::lrsched::testing::ServerProcess;
using ::lrsched::testing::TempDirectory;
using ::testing::HasSubstr;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string command =
        absl::StrCat(LRSCHED_MAKE_CERTS, " ", certs_.path().string(), " > /dev/null");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  std::string Cert(const std::string& name) const { return certs_.File(name + ".pem"); }
  std::string Key(const std::string& name) const { return certs_.File(name + ".key"); }

  std::vector<std::string> TlsFlags(const std::string& server = "server") const {
    return {"--listen=127.0.0.1:0", "--state=:memory:", "--tls_cert_file=" + Cert(server),
            "--tls_key_file=" + Key(server)};
  }

  // Credentials trusting `ca`, presenting `client`'s certificate when given.
  std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& ca,
                                                const std::string& client = "") const {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(Cert(ca));
    if (!client.empty()) {
      options.pem_cert_chain = Read(Cert(client));
      options.pem_private_key = Read(Key(client));
    }
    return grpc::SslCredentials(options);
  }

  // GetJob of a job that does not exist: NOT_FOUND means the call got
  // through the transport to the service.
  static grpc::Status Call(int port, std::shared_ptr<grpc::ChannelCredentials> credentials) {
    grpc::ChannelArguments arguments;
    // A fresh connection per call: a rotated certificate is seen by new
    // handshakes, and no connection is shared between tests.
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel =
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), credentials, arguments);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::GetJobRequest request;
    request.set_job_id("nothing-here");
    v1::Job job;
    return v1::SchedulerService::NewStub(channel)->GetJob(&context, request, &job);
  }

  TempDirectory certs_;
};

TEST_F(TlsTest, TlsCallsGetThroughAndPlaintextOrAnotherCaOrAnExpiredCertificateDoNot) {
  ServerProcess server(LRSCHED_SERVER_BINARY, TlsFlags());
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(Call(server.port(), Tls("ca")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(server.port(), grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Call(server.port(), Tls("other-ca")).error_code(), grpc::StatusCode::UNAVAILABLE);

  ServerProcess expired(LRSCHED_SERVER_BINARY, TlsFlags("expired-server"));
  ASSERT_GT(expired.port(), 0);
  EXPECT_EQ(Call(expired.port(), Tls("ca")).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MutualTlsTakesOnlyAValidClientCertificateOfItsCa) {
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--tls_client_ca_file=" + Cert("ca"));
  ServerProcess server(LRSCHED_SERVER_BINARY, flags);
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(Call(server.port(), Tls("ca", "client")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(server.port(), Tls("ca")).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "no client certificate";
  EXPECT_EQ(Call(server.port(), Tls("ca", "expired-client")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Call(server.port(), Tls("ca", "other-client")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, ARenewedCertificateIsServedWithoutARestart) {
  // The files the server reads, replaced the way Kubernetes updates a
  // mounted Secret: new files renamed over the old ones.
  TempDirectory mounted;
  std::filesystem::copy_file(Cert("server"), mounted.File("tls.crt"));
  std::filesystem::copy_file(Key("server"), mounted.File("tls.key"));
  ServerProcess server(
      LRSCHED_SERVER_BINARY,
      {"--listen=127.0.0.1:0", "--state=:memory:", "--tls_cert_file=" + mounted.File("tls.crt"),
       "--tls_key_file=" + mounted.File("tls.key"), "--tls_refresh_interval=1s"});
  ASSERT_GT(server.port(), 0);
  ASSERT_EQ(Call(server.port(), Tls("ca")).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(Call(server.port(), Tls("other-ca")).error_code(), grpc::StatusCode::UNAVAILABLE);

  std::filesystem::copy_file(Cert("other-server"), mounted.File("new.crt"));
  std::filesystem::copy_file(Key("other-server"), mounted.File("new.key"));
  std::filesystem::rename(mounted.File("new.key"), mounted.File("tls.key"));
  std::filesystem::rename(mounted.File("new.crt"), mounted.File("tls.crt"));
  // Read again within the refresh interval; a generous bound, not a timing.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  grpc::StatusCode renewed = grpc::StatusCode::UNKNOWN;
  while (absl::Now() < give_up) {
    renewed = Call(server.port(), Tls("other-ca")).error_code();
    if (renewed == grpc::StatusCode::NOT_FOUND) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(renewed, grpc::StatusCode::NOT_FOUND) << "the renewed certificate was never served";
  EXPECT_EQ(Call(server.port(), Tls("ca")).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "the old certificate is still served";
}

TEST_F(TlsTest, TheHealthPortAnswersPlaintextProbesAndServesNothingElse) {
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--tls_client_ca_file=" + Cert("ca"));
  flags.push_back("--health_listen=127.0.0.1:0");
  TempDirectory logs;
  ServerProcess server(LRSCHED_SERVER_BINARY, flags, logs.File("stderr"));
  ASSERT_GT(server.port(), 0);
  // The health port's number is in the start-up log line.
  std::string log;
  for (int attempt = 0; attempt < 50 && log.find("health_port=") == std::string::npos; ++attempt) {
    absl::SleepFor(absl::Milliseconds(100));
    log = Read(logs.File("stderr"));
  }
  const size_t at = log.find("health_port=");
  ASSERT_NE(at, std::string::npos) << log;
  const int health_port = std::atoi(log.c_str() + at + std::string("health_port=").size());
  ASSERT_GT(health_port, 0) << log;

  auto health = grpc::CreateChannel(absl::StrCat("127.0.0.1:", health_port),
                                    grpc::InsecureChannelCredentials());
  for (const std::string service : {"", "lrsched.v1.SchedulerService"}) {
    grpc::ClientContext context;
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    ASSERT_TRUE(Health::NewStub(health)->Check(&context, request, &response).ok()) << service;
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  }
  // Nothing but health there, and nothing in plaintext on the main port.
  grpc::ClientContext context;
  v1::GetJobRequest request;
  request.set_job_id("x");
  v1::Job job;
  EXPECT_EQ(v1::SchedulerService::NewStub(health)->GetJob(&context, request, &job).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Call(server.port(), grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // Draining: NOT_SERVING (or closed) on the health port too.
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(absl::Seconds(20)), 0);
  grpc::ClientContext after;
  after.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  HealthCheckResponse response;
  const grpc::Status probed =
      Health::NewStub(health)->Check(&after, HealthCheckRequest(), &response);
  EXPECT_TRUE(!probed.ok() || response.status() != HealthCheckResponse::SERVING);
}

TEST_F(TlsTest, AClientCertificateNamesItsCallerAndItsRole) {
  TempDirectory dir;
  {
    std::ofstream callers(dir.File("callers.yaml"));
    callers << "callers:\n"
               "  - name: team-a-trainers\n"
               "    role: worker\n"
               "    job_prefix: a-\n"
               "    certificate_name: spiffe://lrsched.test/trainer\n";
  }
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--tls_client_ca_file=" + Cert("ca"));
  flags.push_back("--auth_tokens_file=" + dir.File("callers.yaml"));
  ServerProcess server(LRSCHED_SERVER_BINARY, flags);
  ASSERT_GT(server.port(), 0);
  auto stub = v1::SchedulerService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server.port()), Tls("ca", "client")));
  const auto create = [&](const std::string& id) {
    grpc::ClientContext context;
    v1::CreateJobRequest request;
    request.set_job_id(id);
    request.add_base_lrs(0.1);
    request.mutable_spec()->mutable_step_lr()->set_step_size(2);
    v1::Job job;
    return stub->CreateJob(&context, request, &job);
  };
  EXPECT_TRUE(create("a-x").ok()) << "the certificate's SAN is a worker of a-";
  const grpc::Status outside = create("b-x");
  EXPECT_EQ(outside.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(outside.error_message(), HasSubstr("team-a-trainers"));
  grpc::ClientContext context;
  v1::DeleteJobRequest request;
  request.set_job_id("a-x");
  v1::DeleteJobResponse deleted;
  EXPECT_EQ(stub->DeleteJob(&context, request, &deleted).error_code(),
            grpc::StatusCode::PERMISSION_DENIED)
      << "a worker may not delete";
}

TEST_F(TlsTest, LrschedctlSpeaksMutualTlsFromFlagsOrEnvironment) {
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--tls_client_ca_file=" + Cert("ca"));
  ServerProcess server(LRSCHED_SERVER_BINARY, flags);
  ASSERT_GT(server.port(), 0);
  const std::string ctl =
      absl::StrCat(LRSCHEDCTL_BINARY, " --server=127.0.0.1:", server.port(), " --timeout=3s");
  const std::string create =
      " create j --spec='{\"step_lr\": {\"step_size\": 2}}' --base_lrs=0.1 > /dev/null 2>&1";
  const auto run = [](const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(run(absl::StrCat(ctl, " --tls_ca_file=", Cert("ca"), " --tls_cert_file=",
                             Cert("client"), " --tls_key_file=", Key("client"), create)),
            0);
  EXPECT_EQ(run(absl::StrCat(
                "LRSCHED_TLS_CA_FILE=", Cert("ca"), " LRSCHED_TLS_CERT_FILE=", Cert("client"),
                " LRSCHED_TLS_KEY_FILE=", Key("client"), " ", ctl, " get j > /dev/null 2>&1")),
            0);
  EXPECT_NE(run(absl::StrCat(ctl, " --tls_ca_file=", Cert("ca"), " get j > /dev/null 2>&1")), 0)
      << "no client certificate";
  EXPECT_EQ(run(absl::StrCat(ctl, " --tls_ca_file=", Cert("ca"),
                             " --tls_cert_file=", Cert("client"), " get j > /dev/null 2>&1")),
            2)
      << "a certificate without its key is a command-line error";
}

TEST_F(TlsTest, WrongFilesStopTheStartNamingTheFlag) {
  TempDirectory logs;
  const struct {
    std::vector<std::string> flags;
    std::string says;
  } cases[] = {
      {{"--tls_cert_file=" + Cert("server")}, "--tls_cert_file and --tls_key_file go together"},
      {{"--tls_cert_file=" + Cert("server"), "--tls_key_file=" + Key("client")},
       "is not the key of the certificate"},
      {{"--tls_cert_file=" + Key("server"), "--tls_key_file=" + Key("server")},
       "holds no PEM certificate"},
      {{"--tls_cert_file=" + Cert("server"), "--tls_key_file=" + Key("server"),
        "--tls_client_ca_file=" + certs_.File("missing.pem")},
       "--tls_client_ca_file: cannot read"},
      {{"--tls_client_ca_file=" + Cert("ca")}, "mutual TLS is TLS"},
  };
  int n = 0;
  for (const auto& refused : cases) {
    std::vector<std::string> flags = {"--listen=127.0.0.1:0", "--state=:memory:"};
    flags.insert(flags.end(), refused.flags.begin(), refused.flags.end());
    const std::string output = logs.File(absl::StrCat("stderr", n++));
    ServerProcess server(LRSCHED_SERVER_BINARY, flags, output);
    EXPECT_EQ(server.port(), 0);
    EXPECT_EQ(server.WaitForExit(absl::Seconds(10)), 2) << refused.says;
    EXPECT_THAT(Read(output), HasSubstr(refused.says));
  }
}

}  // namespace
}  // namespace lrsched
