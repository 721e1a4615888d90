// One of several lrsched-server replicas sharing an etcd store. The replica
// that holds the prefix's leadership (etcd_leadership.h) serves every job, as
// a Server on a store fenced by that leadership; the others stand by and
// forward every call to it (LeaderProxy), so any replica accepts any call.
// When the leader dies, its lease runs out, a standby wins the next
// election, rebuilds every job from etcd and serves on its own port. A
// leader that loses its lease stops, stands by and campaigns again; one
// stopped by SIGTERM drains, then resigns, so that a standby takes over at
// once.
//
// Thread-safe.
#ifndef LRSCHED_SERVICE_SERVER_REPLICA_H_
#define LRSCHED_SERVICE_SERVER_REPLICA_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "service/common/mutex.h"
#include "service/server/leader_proxy.h"
#include "service/server/ports.h"
#include "service/server/server.h"
#include "service/server/server_log.h"
#include "service/store/etcd_event_store.h"
#include "service/store/etcd_leadership.h"

namespace lrsched {

struct ReplicaOptions {
  // The server of a leading term; listen's port 0 is chosen at the first
  // bind and kept for every later term.
  ServerOptions server;
  // The etcd store: endpoints, prefix, timeouts (the fence is the replica's).
  EtcdStoreOptions store;
  // HOST:PORT at which the other replicas reach this one; empty: the
  // listen address's host (this machine's name when it listens on every
  // address) and the port.
  std::string advertise;
  // What a standby forwards to the leader with: plaintext when null
  // (ReplicaChannelCredentials for a leader that serves TLS), and the name
  // verified in the leader's certificate when set.
  std::shared_ptr<grpc::ChannelCredentials> forward_credentials;
  std::string forward_server_name;
  // The leadership lease: the longest a prefix goes without a leader after
  // its leader dies.
  absl::Duration lease_ttl = absl::Seconds(5);
};

class Replica {
 public:
  // Checks the store, binds the port as a standby and starts campaigning.
  // Errors: the store's (EtcdEventStore::Open), UNAVAILABLE when the port
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<Replica>> Start(const ReplicaOptions& options,
                                                        ServerLog* log);
  ~Replica();

  int port() const { return port_; }
  // The health port's (ServerOptions::health_listen), 0 without one.
  int health_port() const { return health_port_ == nullptr ? 0 : health_port_->port(); }
  const std::string& advertise() const { return advertise_; }
  bool leading() const { return leading_.load(); }
  // What the replica measures, and the leader's server metrics while it
  // leads (with ServerOptions::metrics).
  std::shared_ptr<prometheus::Collectable> metrics() const;

  // Stops campaigning; a leader drains within `drain` (Server::Shutdown),
  // then resigns; a standby stops forwarding. Blocks until done; once.
  void Shutdown(absl::Duration drain);

 private:
  class Metrics;
  explicit Replica(const ReplicaOptions& options, ServerLog* log);
  // Serves as a standby: the proxy on the replica's port.
  absl::Status StartStandby();
  void StopStandby();
  void Run();
  // The health port once a term's server has drained: SERVING again.
  void HealthAsStandby();
  // One leading term, from winning to losing (or Shutdown).
  absl::Status Lead(const std::string& fence_value);
  std::string Listen() const;

  ReplicaOptions options_;
  ServerLog* const log_;
  int port_ = 0;
  std::string advertise_;
  std::unique_ptr<EtcdLeadership> leadership_;
  std::unique_ptr<LeaderProxy> proxy_;
  std::shared_ptr<Metrics> metrics_;
  absl::Notification stop_;
  std::atomic<bool> leading_{false};
  std::atomic<int64_t> terms_{0};
  mutable Mutex mu_;
  std::unique_ptr<grpc::CallbackGenericService> standby_service_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::Server> standby_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Server> server_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<HealthPort> health_port_;
  std::thread runner_;
  absl::once_flag shutdown_once_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_REPLICA_H_
