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
#include "service/job/job.h"
#include "service/server/job_registry.h"
#include "service/server/metrics.h"
#include "service/server/scheduler_service.h"
#include "service/store/sqlite_event_store.h"

namespace lrsched {

struct ServerOptions {
  // host:port to listen on, plaintext; port 0 picks a free one.
  std::string listen = "0.0.0.0:50051";
  // The SQLite state file; ":memory:" keeps nothing.
  std::string state = ":memory:";
  SqliteStoreOptions store;
  size_t max_jobs = 100'000;
  JobOptions job;
  // Time every call and keep the gauges of metrics() (Prometheus).
  bool metrics = false;
  // With metrics: also each job's learning rate (one series per job and
  // group; for small installations).
  bool metrics_per_job = false;
};

class Server {
 public:
  // Opens the state file, rebuilds every job from it, then serves. The store's
  // errors (see SqliteEventStore::Open: one server per state file, when a
  // file is created) and DATA_LOSS for a log that does not replay name the
  // file; UNAVAILABLE: the address cannot be bound, naming it and why (in
  // use: the port is never shared with another process, SO_REUSEPORT off).
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);

  ~Server();

  int port() const { return port_; }
  // The Prometheus metrics when ServerOptions::metrics, else null.
  std::shared_ptr<prometheus::Collectable> metrics() const { return metrics_; }
  // Jobs rebuilt from the state file at start, and how long that took.
  size_t recovered_jobs() const { return recovered_jobs_; }
  absl::Duration recovery_time() const { return recovery_time_; }

  // Health turns NOT_SERVING, waiting Steps end with UNAVAILABLE, new calls
  // are refused and calls in flight get until `drain` to finish. Idempotent.
  void Shutdown(absl::Duration drain);
  // Blocks until the server has shut down.
  void Wait();

 private:
  Server(const ServerOptions& options, std::unique_ptr<EventStore> store);

  // Declared first: destroyed last, after every job that queues to it.
  std::unique_ptr<EventStore> store_;
  std::shared_ptr<ServerMetrics> metrics_;
  JobRegistry registry_;
  SchedulerServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  size_t recovered_jobs_ = 0;
  absl::Duration recovery_time_;
  absl::once_flag shutdown_once_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_SERVER_H_
