#include "service/server/ports.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lrsched {
namespace {

class WithoutReflectionOption final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& plugin) {
                                    return absl::StrContains(plugin->name(), "reflection");
                                  }),
                   plugins->end());
  }
};

// Every call that is not health: UNIMPLEMENTED, as for an unknown method.
// It also makes the server a callback server, which gRPC's health service
// needs where no other service is registered.
class NothingElse final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    class Unimplemented final : public grpc::ServerGenericBidiReactor {
     public:
      Unimplemented() {
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            "this port serves only grpc.health.v1.Health"));
      }
      void OnDone() override { delete this; }
    };
    return new Unimplemented();
  }
};

}  // namespace

// Why gRPC could not listen on `address` (host:port), found by binding it the
// way gRPC does, since gRPC does not say; empty when that binds.
std::string BindError(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "";
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), address.c_str() + colon + 1, &hints,
                  &found) != 0) {
    return "the address does not resolve";
  }
  int error = 0;
  for (const addrinfo* at = found; at != nullptr && error == 0; at = at->ai_next) {
    const int fd = socket(at->ai_family, at->ai_socktype | SOCK_CLOEXEC, at->ai_protocol);
    if (fd < 0) continue;
    // As gRPC: a port in TIME_WAIT after a restart is not in use.
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, at->ai_addr, at->ai_addrlen) != 0) error = errno;
    close(fd);
  }
  freeaddrinfo(found);
  if (error == EADDRINUSE) {
    return "the address is in use: another process (another lrsched-server?) is listening there";
  }
  return error != 0 ? std::strerror(error) : "";
}
std::unique_ptr<grpc::ServerBuilderOption> WithoutReflection() {
  return std::make_unique<WithoutReflectionOption>();
}

absl::StatusOr<std::unique_ptr<HealthPort>> HealthPort::Start(const std::string& listen) {
  grpc::EnableDefaultHealthCheckService(true);
  auto health = std::unique_ptr<HealthPort>(new HealthPort());
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &health->port_);
  builder.SetOption(WithoutReflection());
  health->nothing_else_ = std::make_unique<NothingElse>();
  builder.RegisterCallbackGenericService(health->nothing_else_.get());
  health->server_ = builder.BuildAndStart();
  if (health->server_ == nullptr || health->port_ == 0) {
    const std::string reason = BindError(listen);
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen, " (--health_listen)",
                                               reason.empty() ? "" : ": ", reason));
  }
  return health;
}

HealthPort::~HealthPort() { Shutdown(); }

void HealthPort::SetServing(bool serving) {
  if (server_ == nullptr) return;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus("", serving);
  health->SetServingStatus(kServiceName, serving);
}

void HealthPort::Shutdown() {
  if (server_ == nullptr) return;
  server_->GetHealthCheckService()->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
}

}  // namespace lrsched
