#include "service/server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"
#include "service/server/memory_limit.h"
#include "service/server/store_address.h"

namespace lrsched {
namespace {

// How long before gRPC's drain deadline the server ends its own waiting
// calls, so that their answers are on the wire before gRPC would cancel them.
constexpr absl::Duration kEndAhead = absl::Milliseconds(100);

}  // namespace

Server::Server(const ServerOptions& options, std::unique_ptr<EventStore> store)
    : store_(std::move(store)),
      access_control_(options.access_control),
      memory_budget_(options.memory_budget > 0 ? options.memory_budget : DefaultMemoryBudget()),
      registry_(options.max_jobs, options.job, store_.get(), &memory_budget_),
      service_(registry_, options.max_answer_bytes, memory_budget_, options.served_by,
               access_control_.get(),
               CallerLimits{options.max_watch_streams_per_caller, options.max_jobs_per_caller}) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  StoreAddress address;
  address.sqlite_path = options.state;
  if (!options.store_address.empty()) {
    auto parsed = ParseStoreAddress(options.store_address);
    if (!parsed.ok()) return parsed.status();
    address = *std::move(parsed);
  }
  std::unique_ptr<EventStore> store;
  std::string described;
  if (address.kind == StoreAddress::Kind::kSqlite) {
    auto sqlite = SqliteEventStore::Open(address.sqlite_path, options.store);
    if (!sqlite.ok()) return sqlite.status();
    store = *std::move(sqlite);
    described = absl::StrCat("sqlite:", address.sqlite_path);
  } else {
    EtcdStoreOptions etcd = options.etcd;
    etcd.endpoints = address.etcd.endpoints;
    etcd.prefix = address.etcd.prefix;
    auto opened = EtcdEventStore::Open(etcd);
    if (!opened.ok()) return opened.status();
    described = (*opened)->address();
    store = *std::move(opened);
  }
  return Start(options, std::move(store),
               address.kind == StoreAddress::Kind::kSqlite
                   ? absl::StrCat("state file ", address.sqlite_path)
                   : described,
               described);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      std::unique_ptr<EventStore> store,
                                                      const std::string& store_name,
                                                      const std::string& store_address) {
  auto server = std::unique_ptr<Server>(new Server(options, std::move(store)));
  server->store_address_ = store_address;
  const absl::Time recovery_start = absl::Now();
  if (absl::Status status = server->registry_.Recover(); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat(store_name, ": cannot rebuild the jobs: ",
                                                    status.message()));
  }
  server->recovery_time_ = absl::Now() - recovery_start;
  server->recovered_jobs_ = server->registry_.size();
  // Links the generated health messages into the binary, so that reflection
  // can describe grpc.health.v1.Health, which gRPC serves without them.
  grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default on Linux, which lets a second server
  // bind the same port and take half of the connections: it must fail.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, options.share_port ? 1 : 0);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  builder.AddListeningPort(
      options.listen,
      options.credentials ? options.credentials : grpc::InsecureServerCredentials(),
      &server->port_);
  builder.RegisterService(&server->service_);
  if (options.metrics) {
    server->metrics_ = std::make_shared<ServerMetrics>(
        &server->registry_, server->store_->stats(), &server->memory_budget_,
        options.metrics_per_job);
    server->metrics_->set_recovery_time(server->recovery_time_);
    server->metrics_->set_auth_enabled(options.access_control != nullptr);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> timers;
    timers.push_back(server->metrics_->InterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(timers));
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    const std::string reason = BindError(options.listen);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, reason.empty() ? "" : ": ", reason));
  }
  if (options.shared_health_port != nullptr) {
    server->health_reporter_ = options.shared_health_port;
  } else if (!options.health_listen.empty()) {
    auto health_port = HealthPort::Start(options.health_listen);
    if (!health_port.ok()) return health_port.status();
    server->health_port_ = *std::move(health_port);
    server->health_reporter_ = server->health_port_.get();
  }
  if (server->health_reporter_ != nullptr) server->health_reporter_->SetServing(true);
  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kServiceName, true);
  // Not serving while the state file takes no writes (a full disk): a
  // load balancer sends the trainers elsewhere, and they ride it out.
  server->store_->SetHealthListener(
      [health, health_port = server->health_reporter_](const absl::Status& writes) {
        health->SetServingStatus("", writes.ok());
        health->SetServingStatus(kServiceName, writes.ok());
        if (health_port != nullptr) health_port->SetServing(writes.ok());
      });
  return server;
}

Server::~Server() {
  if (server_ == nullptr) return;  // Start() failed before serving
  Shutdown(absl::ZeroDuration());
  Wait();
}

void Server::Shutdown(absl::Duration drain) {
  absl::call_once(shutdown_once_, [&] {
    store_->SetHealthListener(nullptr);
    const absl::Time start = absl::Now();
    drain = std::max(drain, absl::ZeroDuration());
    const absl::Time deadline = start + drain;
    server_->GetHealthCheckService()->Shutdown();
    if (health_reporter_ != nullptr) health_reporter_->SetServing(false);
    drain_stats_.jobs_closed = static_cast<int64_t>(registry_.CloseAll(ShuttingDownError()));
    // gRPC keeps taking calls meanwhile: they reach the closed jobs, which
    // refuse them with UNAVAILABLE, rather than being cancelled by gRPC.
    WaitingCalls& waiting = service_.waiting_calls();
    waiting.AwaitNone(deadline - std::min(kEndAhead, drain / 2));
    drain_stats_.calls_ended = waiting.EndAll();
    server_->Shutdown(absl::ToChronoTime(deadline));
    store_->Flush();
    if (health_port_ != nullptr) health_port_->Shutdown();
    drain_stats_.steps_ended = waiting.parked_steps_ended();
    drain_stats_.duration = absl::Now() - start;
  });
}

void Server::Wait() { server_->Wait(); }

}  // namespace lrsched
