#include "service/server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"

namespace lrsched {
namespace {

constexpr char kServiceName[] = "lrsched.v1.SchedulerService";
// How long before gRPC's drain deadline the server ends its own waiting
// calls, so that their answers are on the wire before gRPC would cancel them.
constexpr absl::Duration kEndAhead = absl::Milliseconds(100);

}  // namespace

Server::Server(const ServerOptions& options, std::unique_ptr<EventStore> store)
    : store_(std::move(store)),
      registry_(options.max_jobs, options.job, store_.get()),
      service_(registry_) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  auto store = SqliteEventStore::Open(options.state, options.store);
  if (!store.ok()) return store.status();
  auto server = std::unique_ptr<Server>(new Server(options, *std::move(store)));
  const absl::Time recovery_start = absl::Now();
  if (absl::Status status = server->registry_.Recover(); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("state file ", options.state,
                                                    ": cannot rebuild the jobs: ",
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
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &server->port_);
  builder.RegisterService(&server->service_);
  if (options.metrics) {
    server->metrics_ = std::make_shared<ServerMetrics>(
        &server->registry_, server->store_->stats(), options.metrics_per_job);
    server->metrics_->set_recovery_time(server->recovery_time_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> timers;
    timers.push_back(server->metrics_->InterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(timers));
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kServiceName, true);
  return server;
}

Server::~Server() {
  if (server_ == nullptr) return;  // Start() failed before serving
  Shutdown(absl::ZeroDuration());
  Wait();
}

void Server::Shutdown(absl::Duration drain) {
  absl::call_once(shutdown_once_, [&] {
    const absl::Time start = absl::Now();
    drain = std::max(drain, absl::ZeroDuration());
    const absl::Time deadline = start + drain;
    server_->GetHealthCheckService()->Shutdown();
    drain_stats_.jobs_closed = static_cast<int64_t>(registry_.CloseAll(ShuttingDownError()));
    // gRPC keeps taking calls meanwhile: they reach the closed jobs, which
    // refuse them with UNAVAILABLE, rather than being cancelled by gRPC.
    WaitingCalls& waiting = service_.waiting_calls();
    waiting.AwaitNone(deadline - std::min(kEndAhead, drain / 2));
    drain_stats_.calls_ended = waiting.EndAll();
    server_->Shutdown(absl::ToChronoTime(deadline));
    store_->Flush();
    drain_stats_.steps_ended = waiting.parked_steps_ended();
    drain_stats_.duration = absl::Now() - start;
  });
}

void Server::Wait() { server_->Wait(); }

}  // namespace lrsched
