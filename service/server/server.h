// lrsched's gRPC server as a handle: Start() binds and serves
// lrsched.v1.SchedulerService with gRPC health and reflection, port() tells
// the port it got (bind port 0 in tests), Shutdown() drains, Wait() blocks.
//
// Thread-safe.
#ifndef LRSCHED_SERVICE_SERVER_SERVER_H_
#define LRSCHED_SERVICE_SERVER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/common/memory_budget.h"
#include "service/job/job.h"
#include "service/server/job_registry.h"
#include "service/server/metrics.h"
#include "service/server/ports.h"
#include "service/server/scheduler_service.h"
#include "service/store/etcd_event_store.h"
#include "service/store/sqlite_event_store.h"

namespace lrsched {

struct ServerOptions {
  // host:port to listen on; port 0 picks a free one.
  std::string listen = "0.0.0.0:50051";
  // The listening port's: plaintext when null (ServerCredentialsFor in
  // transport_security.h makes TLS ones).
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Who may do what (access_control.h); every caller may do everything
  // when null.
  std::shared_ptr<const AccessControl> access_control;
  // host:port of a plaintext port that serves only grpc.health.v1.Health
  // (HealthPort); none when empty.
  std::string health_listen;
  // Instead, a health port of the caller's that outlives this server (a
  // replica's, across its terms): told what this server's health tells,
  // not closed by it.
  HealthPort* shared_health_port = nullptr;
  // Where the jobs are kept, as store_address.h reads it; empty: the SQLite
  // file `state`.
  std::string store_address;
  // The SQLite state file; ":memory:" keeps nothing.
  std::string state = ":memory:";
  SqliteStoreOptions store;
  // For an etcd store: its timeouts (the address gives endpoints and prefix).
  EtcdStoreOptions etcd;
  // Job.served_by in answers: this replica's address when replicas share
  // an etcd store; empty otherwise.
  std::string served_by;
  // Lets a replica's next server bind its port before the last one closes
  // it (SO_REUSEPORT), so that clients never find the port closed when the
  // replica changes role. Off otherwise: a second server on a port must fail.
  bool share_port = false;
  size_t max_jobs = 100'000;
  // The largest request message the server reads; a larger one ends with
  // RESOURCE_EXHAUSTED before it is parsed (gRPC's limit; its default).
  int max_receive_message_bytes = 4 << 20;
  // Calls in flight on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS);
  // a client queues the ones past it.
  int max_concurrent_streams = 10'000;
  // Per caller (CallerLimits); 0: no limit.
  int64_t max_watch_streams_per_caller = 100;
  int64_t max_jobs_per_caller = 10'000;
  // The largest PreviewSchedule answer the server builds; a longer preview is
  // refused before it is computed (RESOURCE_EXHAUSTED).
  int64_t max_answer_bytes = int64_t{64} << 20;
  // What jobs (each for its largest size) and previews in flight may take
  // together; 0: DefaultMemoryBudget(), half the container's memory limit.
  int64_t memory_budget = 0;
  JobOptions job;
  // Time every call and keep the gauges of metrics() (Prometheus).
  bool metrics = false;
  // With metrics: also each job's learning rate (one series per job and
  // group; for small installations).
  bool metrics_per_job = false;
};

class Server {
 public:
  // Opens the store, rebuilds every job from it, then serves. The store's
  // errors (see SqliteEventStore::Open: one server per state file, when a
  // file is created; EtcdEventStore::Open), INVALID_ARGUMENT for a store
  // address that does not parse, and DATA_LOSS for a log that does not
  // replay name the store; UNAVAILABLE: the address cannot be bound, naming
  // it and why (in use: the port is never shared with another process,
  // SO_REUSEPORT off).
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);
  // The same on a store opened by the caller (a replica's, fenced by its
  // leadership), `store_name` for its errors and `store_address` as
  // store_address() tells it.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       std::unique_ptr<EventStore> store,
                                                       const std::string& store_name,
                                                       const std::string& store_address);

  ~Server();

  // A channel to this server's service within the process: no socket, no
  // TLS, no client certificate, so a call is known only by the token its
  // metadata carries (the HTTP side's, http_gateway.h).
  std::shared_ptr<grpc::Channel> InProcessChannel() const {
    return server_->InProcessChannel(grpc::ChannelArguments());
  }

  int port() const { return port_; }
  // The health port's, 0 without one.
  int health_port() const { return health_reporter_ == nullptr ? 0 : health_reporter_->port(); }
  // The Prometheus metrics when ServerOptions::metrics, else null.
  std::shared_ptr<prometheus::Collectable> metrics() const { return metrics_; }
  // The store as --store names it (sqlite:PATH or etcd://...).
  const std::string& store_address() const { return store_address_; }
  // Jobs rebuilt from the store at start, and how long that took.
  size_t recovered_jobs() const { return recovered_jobs_; }
  const MemoryBudget& memory_budget() const { return memory_budget_; }
  absl::Duration recovery_time() const { return recovery_time_; }

  // Drains the server within `drain`, so that a client can ride out the
  // restart: health turns NOT_SERVING; every job closes, which ends parked
  // Steps (and refuses later calls) with UNAVAILABLE (ShuttingDownError);
  // calls waiting for the store get until shortly before `drain` runs out,
  // then end with UNAVAILABLE too (DEADLINE_EXCEEDED for an override, whose
  // outcome is unknown then); then gRPC stops taking calls and the store is
  // flushed. Blocks until done; idempotent.
  //
  // No call of the service is ever cancelled. A call that reaches gRPC after
  // it stopped taking calls, before the client saw the connection go away,
  // never reaches the service: gRPC (1.51) cancels it itself, and the client
  // sees CANCELLED (lrsched::Client retries it).
  void Shutdown(absl::Duration drain);
  // Blocks until the server has shut down.
  void Wait();

  // What the drain did; complete once Shutdown has returned.
  struct DrainStats {
    // Jobs closed.
    int64_t jobs_closed = 0;
    // Parked Steps ended by their job's closing.
    int64_t steps_ended = 0;
    // Calls still waiting for the store when the drain ran out, ended.
    int64_t calls_ended = 0;
    absl::Duration duration;
  };
  DrainStats drain_stats() const { return drain_stats_; }

 private:
  Server(const ServerOptions& options, std::unique_ptr<EventStore> store);

  // Declared first: destroyed last, after every job that queues to it.
  std::unique_ptr<EventStore> store_;
  std::shared_ptr<const AccessControl> access_control_;
  MemoryBudget memory_budget_;
  std::shared_ptr<ServerMetrics> metrics_;
  JobRegistry registry_;
  SchedulerServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  // The health port this server opened, if any, and the one it reports to
  // (that one or ServerOptions::shared_health_port).
  std::unique_ptr<HealthPort> health_port_;
  HealthPort* health_reporter_ = nullptr;
  std::string store_address_;
  size_t recovered_jobs_ = 0;
  absl::Duration recovery_time_;
  absl::once_flag shutdown_once_;
  DrainStats drain_stats_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_SERVER_H_
