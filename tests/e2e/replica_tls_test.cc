// Replicas on etcd that serve mutual TLS and require tokens, as real
// processes: a call through the standby is forwarded to the leader over
// TLS (the standby presenting its own certificate) and answered; the token
// travels with it and decides the role; a caller known only by its client
// certificate reaches the leader directly but not through a standby (the
// leader sees the standby's certificate), which is refused, not promoted;
// after the leader's SIGTERM the standby leads and serves the job.
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_directory.h"

namespace lrsched {
namespace {

using ::lrsched::testing::EtcdCluster;
using ::lrsched::testing::ServerProcess;
using ::lrsched::testing::TempDirectory;

constexpr char kOperator[] = "operator-token-0123456789";

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ReplicaTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(etcd_.status().ok()) << etcd_.status();
    const std::string command =
        absl::StrCat(LRSCHED_MAKE_CERTS, " ", dir_.File("certs"), " > /dev/null");
    ASSERT_EQ(std::system(command.c_str()), 0);
    std::ofstream callers(dir_.File("callers.yaml"));
    callers << "callers:\n"
               "  - {name: ops, role: operator, token: " << kOperator << "}\n"
               "  - {name: trainer-by-certificate, role: worker,"
               " certificate_name: 'spiffe://lrsched.test/trainer'}\n"
               // The replicas' own certificate names a role too: a standby
               // must not lend it to the calls it forwards.
               "  - {name: the-replicas, role: operator, certificate_name: localhost}\n";
  }

  std::string Cert(const std::string& name) const { return dir_.File("certs/" + name + ".pem"); }
  std::string Key(const std::string& name) const { return dir_.File("certs/" + name + ".key"); }

  std::unique_ptr<ServerProcess> StartReplica(int index) {
    return std::make_unique<ServerProcess>(
        LRSCHED_SERVER_BINARY,
        std::vector<std::string>{"--listen=127.0.0.1:0", "--store=" + etcd_.StoreAddress(),
                                 "--lease_ttl=2s", "--tls_cert_file=" + Cert("server"),
                                 "--tls_key_file=" + Key("server"),
                                 "--tls_client_ca_file=" + Cert("ca"),
                                 "--auth_tokens_file=" + dir_.File("callers.yaml")},
        dir_.File(absl::StrCat("replica", index, ".log")));
  }

  std::unique_ptr<v1::SchedulerService::Stub> Connect(int port) const {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = Read(Cert("ca"));
    tls.pem_cert_chain = Read(Cert("client"));
    tls.pem_private_key = Read(Key("client"));
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return v1::SchedulerService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(tls), arguments));
  }

  // GetJob through `stub`, with the operator's token unless `token` is "".
  static grpc::Status Get(v1::SchedulerService::Stub& stub, const std::string& job_id,
                          v1::Job* job, const std::string& token = kOperator) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (!token.empty()) context.AddMetadata("authorization", std::string("Bearer ") + token);
    v1::GetJobRequest request;
    request.set_job_id(job_id);
    return stub.GetJob(&context, request, job);
  }

  EtcdCluster etcd_{1};
  TempDirectory dir_;
};

TEST_F(ReplicaTlsTest, AStandbyForwardsOverTlsWithTheCallersTokenAndTakesOverOnSigterm) {
  auto first = StartReplica(0);
  ASSERT_GT(first->port(), 0);
  auto to_first = Connect(first->port());
  // The first replica leads once it has won the election.
  grpc::Status created;
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  do {
    grpc::ClientContext context;
    context.AddMetadata("authorization", std::string("Bearer ") + kOperator);
    v1::CreateJobRequest request;
    request.set_job_id("j");
    request.add_base_lrs(0.1);
    request.mutable_spec()->mutable_step_lr()->set_step_size(2);
    v1::Job job;
    created = to_first->CreateJob(&context, request, &job);
    if (!created.ok()) absl::SleepFor(absl::Milliseconds(100));
  } while (!created.ok() && absl::Now() < give_up);
  ASSERT_TRUE(created.ok()) << created.error_message();

  auto second = StartReplica(1);
  ASSERT_GT(second->port(), 0);
  auto to_second = Connect(second->port());
  v1::Job through_leader, through_standby;
  ASSERT_TRUE(Get(*to_first, "j", &through_leader).ok());
  // A standby just started learns who leads within its first look at the
  // leader key; until then it answers UNAVAILABLE, which clients retry.
  grpc::Status forwarded;
  const absl::Time learn = absl::Now() + absl::Seconds(30);
  do {
    forwarded = Get(*to_second, "j", &through_standby);
    if (forwarded.error_code() == grpc::StatusCode::UNAVAILABLE) {
      absl::SleepFor(absl::Milliseconds(100));
    }
  } while (forwarded.error_code() == grpc::StatusCode::UNAVAILABLE && absl::Now() < learn);
  ASSERT_TRUE(forwarded.ok()) << forwarded.error_message();
  EXPECT_EQ(through_standby.served_by(), through_leader.served_by());
  EXPECT_EQ(through_standby.served_by(), absl::StrCat("127.0.0.1:", first->port()));
  EXPECT_EQ(Get(*to_second, "j", &through_standby, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED)
      << "no token through the standby";

  // Known by its certificate alone: at the leader, a worker; through the
  // standby it would be the standby (an operator here), so the standby
  // refuses to forward it.
  v1::Job by_certificate;
  EXPECT_TRUE(Get(*to_first, "j", &by_certificate, "").ok());
  const grpc::Status refused = Get(*to_second, "j", &by_certificate, "");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("bearer token"));
  {
    grpc::ClientContext context;
    v1::DeleteJobRequest request;
    request.set_job_id("j");
    v1::DeleteJobResponse deleted;
    EXPECT_EQ(to_second->DeleteJob(&context, request, &deleted).error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << "a worker's certificate became the replicas' operator through the standby";
  }

  first->Signal(SIGTERM);
  EXPECT_EQ(first->WaitForExit(absl::Seconds(20)), 0);
  grpc::Status after;
  v1::Job job;
  const absl::Time wait = absl::Now() + absl::Seconds(30);
  do {
    after = Get(*to_second, "j", &job);
    if (after.ok() && job.served_by() == absl::StrCat("127.0.0.1:", second->port())) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < wait);
  ASSERT_TRUE(after.ok()) << after.error_message();
  EXPECT_EQ(job.served_by(), absl::StrCat("127.0.0.1:", second->port()));
}

}  // namespace
}  // namespace lrsched
