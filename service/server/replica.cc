#include "service/server/replica.h"

#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "prometheus/metric_family.h"
#include "service/server/ports.h"

namespace lrsched {
namespace {

prometheus::MetricFamily Single(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

class Replica::Metrics final : public prometheus::Collectable {
 public:
  explicit Metrics(const Replica* replica) : replica_(replica) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    {
      MutexLock lock(&replica_->mu_);
      if (replica_->server_ != nullptr && replica_->server_->metrics() != nullptr) {
        families = replica_->server_->metrics()->Collect();
      }
    }
    families.push_back(Single("lrsched_replica_leading",
                              "1 while this replica leads its etcd prefix and serves every job",
                              prometheus::MetricType::Gauge, replica_->leading() ? 1 : 0));
    families.push_back(Single("lrsched_replica_terms_total", "Times this replica became the leader",
                              prometheus::MetricType::Counter,
                              static_cast<double>(replica_->terms_.load())));
    families.push_back(Single("lrsched_replica_forwarded_calls_total",
                              "Calls this replica forwarded to the leader while standing by",
                              prometheus::MetricType::Counter,
                              static_cast<double>(replica_->proxy_->forwarded())));
    return families;
  }

 private:
  const Replica* const replica_;
};

std::shared_ptr<prometheus::Collectable> Replica::metrics() const { return metrics_; }

Replica::Replica(const ReplicaOptions& options, ServerLog* log) : options_(options), log_(log) {}

absl::StatusOr<std::unique_ptr<Replica>> Replica::Start(const ReplicaOptions& options,
                                                        ServerLog* log) {
  // A store that cannot be reached, or holds a newer layout, stops the start.
  auto checked = EtcdEventStore::Open(options.store);
  if (!checked.ok()) return checked.status();
  checked->reset();
  auto replica = std::unique_ptr<Replica>(new Replica(options, log));
  replica->proxy_ = std::make_unique<LeaderProxy>(options.forward_credentials,
                                                  options.forward_server_name,
                                                  options.server.access_control != nullptr);
  replica->metrics_ = std::make_shared<Metrics>(replica.get());
  grpc::EnableDefaultHealthCheckService(true);
  if (!options.server.health_listen.empty()) {
    // The replica's, whatever its role: it answers wherever it leads or not.
    auto health_port = HealthPort::Start(options.server.health_listen);
    if (!health_port.ok()) return health_port.status();
    replica->health_port_ = *std::move(health_port);
    replica->health_port_->SetServing(true);
  }
  if (absl::Status started = replica->StartStandby(); !started.ok()) return started;
  // Listening on one address, the replica is reached there; on all of
  // them, by this machine's name.
  const std::string& listen = options.server.listen;
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = HostName();
  replica->advertise_ =
      options.advertise.empty() ? absl::StrCat(host, ":", replica->port_) : options.advertise;
  replica->proxy_->SetSelf(replica->advertise_);
  EtcdLeadershipOptions leadership;
  leadership.endpoints = options.store.endpoints;
  leadership.prefix = options.store.prefix;
  leadership.identity = replica->advertise_;
  leadership.ttl = options.lease_ttl;
  leadership.call_timeout = options.store.call_timeout;
  replica->leadership_ = std::make_unique<EtcdLeadership>(leadership);
  replica->runner_ = std::thread([raw = replica.get()] { raw->Run(); });
  return replica;
}

Replica::~Replica() { Shutdown(absl::ZeroDuration()); }

std::string Replica::Listen() const {
  const std::string& listen = options_.server.listen;
  return absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port_);
}

absl::Status Replica::StartStandby() {
  grpc::ServerBuilder builder;
  // The port is shared with the leading term's server while roles change.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 1);
  // The leader's limits, before anything is forwarded.
  builder.SetMaxReceiveMessageSize(options_.server.max_receive_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options_.server.max_concurrent_streams);
  int port = 0;
  const std::string listen = port_ == 0 ? options_.server.listen : Listen();
  builder.AddListeningPort(listen,
                           options_.server.credentials ? options_.server.credentials
                                                       : grpc::InsecureServerCredentials(),
                           &port);
  std::unique_ptr<grpc::CallbackGenericService> service = proxy_->NewService();
  builder.RegisterCallbackGenericService(service.get());
  // Reflection calls are forwarded like any other: the leader describes the
  // service it serves (a standby's own would list only health).
  builder.SetOption(WithoutReflection());
  std::unique_ptr<grpc::Server> standby = builder.BuildAndStart();
  if (standby == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  }
  port_ = port;
  grpc::HealthCheckServiceInterface* health = standby->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kServiceName, true);
  MutexLock lock(&mu_);
  standby_ = std::move(standby);
  standby_service_ = std::move(service);
  return absl::OkStatus();
}

void Replica::StopStandby() {
  std::unique_ptr<grpc::Server> standby;
  std::unique_ptr<grpc::CallbackGenericService> service;
  {
    MutexLock lock(&mu_);
    standby = std::move(standby_);
    service = std::move(standby_service_);
  }
  if (standby == nullptr) return;
  // Forwarded calls in flight get a moment; then gRPC cancels them, and
  // their callers retry, reaching this replica's own service.
  standby->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  proxy_->AwaitNoCalls();
  standby->Wait();
}

void Replica::Run() {
  while (!stop_.HasBeenNotified()) {
    auto won = leadership_->Campaign(
        [this](const std::string& leader) {
          proxy_->SetLeader(leader);
          if (log_ != nullptr && leader != advertise_) {
            log_->Info("replica_standing_by",
                       LogLine().Add("replica", advertise_).Add("leader", leader));
          }
        },
        stop_);
    if (!won.ok()) return;
    const absl::Status lost = Lead(*won);
    if (stop_.HasBeenNotified()) return;
    if (log_ != nullptr) {
      log_->Error("replica_lost_leadership",
                  LogLine().Add("replica", advertise_).Add("error", lost.ToString()));
    }
    leadership_->Resign();
    proxy_->SetLeader("");
  }
}

absl::Status Replica::Lead(const std::string& fence_value) {
  EtcdStoreOptions fenced = options_.store;
  fenced.fence_key = leadership_->leader_key();
  fenced.fence_value = fence_value;
  ServerOptions server_options = options_.server;
  server_options.listen = Listen();
  server_options.served_by = advertise_;
  server_options.share_port = true;
  // The replica's health port tells the term's store health, as its port
  // does.
  server_options.health_listen.clear();
  server_options.shared_health_port = health_port_.get();
  absl::StatusOr<std::unique_ptr<Server>> server = absl::UnavailableError("not started");
  // The lease is renewed while every job is rebuilt, which may take longer
  // than its TTL on a large store.
  absl::Notification rebuilt;
  absl::Status kept;
  std::thread keeper([&] { kept = leadership_->HoldUntilLost(rebuilt); });
  for (int attempt = 0; attempt < 50 && !stop_.HasBeenNotified(); ++attempt) {
    auto store = EtcdEventStore::Open(fenced);
    if (store.ok()) {
      const std::string address = (*store)->address();
      server = Server::Start(server_options, *std::move(store), address, address);
    } else {
      server = store.status();
    }
    if (server.ok()) break;
    stop_.WaitForNotificationWithTimeout(absl::Milliseconds(100));
  }
  rebuilt.Notify();
  keeper.join();
  if (!server.ok()) return server.status();
  if (!kept.ok()) {
    (*server)->Shutdown(absl::ZeroDuration());
    (*server)->Wait();
    HealthAsStandby();
    return kept;
  }
  // The leading server listens beside the standby now: new connections go
  // to either until the standby closes, and then to the leader alone.
  StopStandby();
  if (log_ != nullptr) {
    log_->Info("replica_leading",
               LogLine()
                   .Add("replica", advertise_)
                   .Add("recovered_jobs", static_cast<int64_t>((*server)->recovered_jobs()))
                   .Add("recovery_seconds", absl::ToDoubleSeconds((*server)->recovery_time())));
  }
  {
    MutexLock lock(&mu_);
    server_ = *std::move(server);
  }
  ++terms_;
  leading_ = true;
  const absl::Status held = leadership_->HoldUntilLost(stop_);
  if (stop_.HasBeenNotified()) return absl::OkStatus();
  leading_ = false;
  // The standby takes the port over before the server that led closes it.
  while (!stop_.HasBeenNotified() && !StartStandby().ok()) {
    stop_.WaitForNotificationWithTimeout(absl::Milliseconds(100));
  }
  std::unique_ptr<Server> ended;
  {
    MutexLock lock(&mu_);
    ended = std::move(server_);
  }
  // Its writes already fail the fence; calls in flight end and retry.
  ended->Shutdown(absl::Seconds(1));
  ended->Wait();
  HealthAsStandby();
  return held;
}

void Replica::HealthAsStandby() {
  // A term's server turns the health port NOT_SERVING as it drains; a
  // standby serves (it forwards), unless the replica is stopping.
  if (health_port_ != nullptr && !stop_.HasBeenNotified()) health_port_->SetServing(true);
}

void Replica::Shutdown(absl::Duration drain) {
  absl::call_once(shutdown_once_, [&] {
    if (health_port_ != nullptr) health_port_->SetServing(false);
    stop_.Notify();
    if (runner_.joinable()) runner_.join();
    std::unique_ptr<Server> server;
    {
      MutexLock lock(&mu_);
      server = std::move(server_);
    }
    if (server != nullptr) {
      server->Shutdown(drain);
      server->Wait();
      server.reset();
      leading_ = false;
    }
    if (leadership_ != nullptr) leadership_->Resign();
    std::unique_ptr<grpc::Server> standby;
    std::unique_ptr<grpc::CallbackGenericService> service;
    {
      MutexLock lock(&mu_);
      standby = std::move(standby_);
      service = std::move(standby_service_);
    }
    if (standby != nullptr) {
      standby->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(drain));
      proxy_->AwaitNoCalls();
      standby->Wait();
    }
    if (health_port_ != nullptr) health_port_->Shutdown();
  });
}

}  // namespace lrsched
