#include "tests/testing/etcd_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include <grpcpp/grpcpp.h>

namespace lrsched::testing {
namespace {

constexpr char kEtcd[] = "/usr/bin/etcd";

// A port nobody listens on now. Another process may take it before etcd
// does; Start then fails and the cluster is started again on new ports.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

std::unique_ptr<etcdserverpb::Maintenance::Stub> MaintenanceOf(const std::string& endpoint) {
  return etcdserverpb::Maintenance::NewStub(
      grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
}

}  // namespace

EtcdCluster::EtcdCluster(int members) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    members_.assign(static_cast<size_t>(members), Member{});
    std::vector<std::string> peers;
    for (int i = 0; i < members; ++i) {
      Member& member = members_[static_cast<size_t>(i)];
      // Unique to this cluster: a member that answers on our port under
      // another name is another test's, which took the port first.
      member.name = absl::StrCat(directory_.path().filename().string(), "-m", i);
      member.client_port = FreePort();
      member.peer_port = FreePort();
      peers.push_back(absl::StrCat(member.name, "=http://127.0.0.1:", member.peer_port));
    }
    initial_cluster_ = absl::StrJoin(peers, ",");
    status_ = absl::OkStatus();
    for (int i = 0; i < members && status_.ok(); ++i) status_ = Start(i, /*new_cluster=*/true);
    for (int i = 0; i < members && status_.ok(); ++i) {
      status_ = WaitUntilServing(i, absl::Seconds(30));
    }
    if (status_.ok()) return;
    for (int i = 0; i < members; ++i) Stop(i, SIGKILL);
    std::error_code ignored;
    for (int i = 0; i < members; ++i) {
      std::filesystem::remove_all(directory_.path() / members_[static_cast<size_t>(i)].name,
                                  ignored);
    }
  }
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < size(); ++i) Stop(i, SIGKILL);
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> endpoints;
  for (int i = 0; i < size(); ++i) endpoints.push_back(endpoint(i));
  return endpoints;
}

std::string EtcdCluster::endpoint(int member) const {
  return absl::StrCat("127.0.0.1:", members_[static_cast<size_t>(member)].client_port);
}

std::string EtcdCluster::StoreAddress(const std::string& prefix) const {
  return absl::StrCat("etcd://", absl::StrJoin(endpoints(), ","), prefix);
}

absl::Status EtcdCluster::Start(int index, bool new_cluster) {
  Member& member = members_[static_cast<size_t>(index)];
  const std::string data = (directory_.path() / member.name).string();
  const std::string client = absl::StrCat("http://127.0.0.1:", member.client_port);
  const std::string peer = absl::StrCat("http://127.0.0.1:", member.peer_port);
  std::vector<std::string> args = {
      kEtcd, "--name", member.name, "--data-dir", data, "--listen-client-urls", client,
      "--advertise-client-urls", client, "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer, "--initial-cluster", initial_cluster_,
      "--initial-cluster-state", new_cluster ? "new" : "existing",
      "--initial-cluster-token", directory_.path().filename().string(),
      // The tests' own clusters: a short election keeps a leader's loss short.
      "--heartbeat-interval", "100", "--election-timeout", "1000",
      "--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log = (directory_.path() / (member.name + ".log")).string();
  member.pid = fork();
  if (member.pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      dup2(out, STDOUT_FILENO);
      dup2(out, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (member.pid < 0) return absl::InternalError("fork failed");
  return absl::OkStatus();
}

absl::Status EtcdCluster::WaitUntilServing(int index, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    // A new channel each time: one that failed to connect waits out gRPC's
    // reconnect backoff (a second and growing) before it tries again.
    auto maintenance = MaintenanceOf(endpoint(index));
    const Member& member = members_[static_cast<size_t>(index)];
    int exit_status = 0;
    if (member.pid <= 0 || waitpid(member.pid, &exit_status, WNOHANG) == member.pid) {
      return absl::UnavailableError(
          absl::StrCat("etcd member ", member.name, " exited:\n", Log(index)));
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    etcdserverpb::StatusResponse status;
    if (maintenance->Status(&context, etcdserverpb::StatusRequest(), &status).ok() &&
        status.leader() != 0) {
      grpc::ClientContext members_context;
      members_context.set_deadline(std::chrono::system_clock::now() +
                                   std::chrono::milliseconds(500));
      etcdserverpb::MemberListResponse members;
      auto cluster = etcdserverpb::Cluster::NewStub(
          grpc::CreateChannel(endpoint(index), grpc::InsecureChannelCredentials()));
      if (cluster->MemberList(&members_context, etcdserverpb::MemberListRequest(), &members)
              .ok()) {
        for (const auto& listed : members.members()) {
          if (listed.id() == status.header().member_id()) {
            if (listed.name() == member.name) return absl::OkStatus();
            return absl::UnavailableError(absl::StrCat(
                "port ", member.client_port, " is another etcd's (", listed.name(), ")"));
          }
        }
      }
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("etcd member ", members_[index].name,
                                                  " did not serve in time:\n", Log(index)));
}

void EtcdCluster::Stop(int index, int signal) {
  Member& member = members_[static_cast<size_t>(index)];
  if (member.pid <= 0) return;
  kill(member.pid, signal);
  if (signal == SIGKILL || signal == SIGTERM) {
    waitpid(member.pid, nullptr, 0);
    member.pid = -1;
  }
}

absl::Status EtcdCluster::Restart(int index) {
  if (running(index)) return absl::FailedPreconditionError("the member is running");
  absl::Status started = Start(index, /*new_cluster=*/false);
  if (!started.ok()) return started;
  return WaitUntilServing(index, absl::Seconds(30));
}

int EtcdCluster::Leader() const {
  for (int i = 0; i < size(); ++i) {
    if (!running(i)) continue;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    etcdserverpb::StatusResponse status;
    if (!MaintenanceOf(endpoint(i))->Status(&context, etcdserverpb::StatusRequest(), &status).ok()) {
      continue;
    }
    if (status.leader() != 0 && status.leader() == status.header().member_id()) return i;
  }
  return -1;
}

std::string EtcdCluster::Log(int index) const {
  std::ifstream in(directory_.path() / (members_[static_cast<size_t>(index)].name + ".log"));
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

}  // namespace lrsched::testing
