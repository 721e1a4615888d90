// Which of several lrsched-server replicas on one etcd prefix serves it: the
// one holding PREFIX/leader, a key bound to the holder's lease. The others
// stand by and forward their calls to it; when the holder dies its lease
// runs out after the TTL, the key vanishes, and a standby takes it.
//
// The key is also the fence of the leader's writes (EtcdStoreOptions::fence):
// every transaction of the store compares it with the leader's own value, so
// a replica that lost the lease (a pause, a partition) can no longer write,
// whatever it still believes.
//
// One campaign at a time; not thread-safe otherwise.
#ifndef LRSCHED_SERVICE_STORE_ETCD_LEADERSHIP_H_
#define LRSCHED_SERVICE_STORE_ETCD_LEADERSHIP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace lrsched {

struct EtcdLeadershipOptions {
  std::vector<std::string> endpoints;
  std::string prefix = "/lrsched/";
  // How the other replicas reach this one (HOST:PORT).
  std::string identity;
  // The lease's time to live: how long after its holder's death the key
  // stays, and so the longest a prefix goes without a leader.
  absl::Duration ttl = absl::Seconds(5);
  absl::Duration call_timeout = absl::Seconds(2);
  // How often a standby looks whether the key is free.
  absl::Duration poll = absl::Milliseconds(200);
};

class EtcdLeadership {
 public:
  explicit EtcdLeadership(EtcdLeadershipOptions options);
  // Resigns if leading.
  ~EtcdLeadership();

  std::string leader_key() const { return options_.prefix + "leader"; }

  // Blocks until this replica holds the key, then returns the value it
  // wrote there (the fence value of its writes), or CANCELLED once `stop` is
  // notified. Meanwhile tells `on_leader` the address of the replica that
  // holds it (empty: none) whenever that changes. etcd's errors are waited
  // out: a standby keeps trying.
  absl::StatusOr<std::string> Campaign(const std::function<void(const std::string&)>& on_leader,
                                       absl::Notification& stop);

  // While leading: keeps the lease alive, and returns once leadership is
  // lost (the lease could not be renewed within its TTL, or the key no
  // longer holds this replica's value) with why, or with OK once `stop` is
  // notified.
  absl::Status HoldUntilLost(absl::Notification& stop);

  // Revokes the lease, so that the key vanishes now rather than after the
  // TTL and a standby takes over at once.
  void Resign();

  // The address in a value of the key.
  static std::string AddressOf(const std::string& value);

 private:
  etcdserverpb::KV::Stub& kv();
  etcdserverpb::Lease::Stub& lease();
  void NextEndpoint();
  std::unique_ptr<grpc::ClientContext> Context() const;
  // A new lease; 0 on failure.
  int64_t Grant();
  // Renews the lease: its remaining TTL, 0 when it is gone, or an error.
  absl::StatusOr<int64_t> KeepAlive(int64_t lease_id);

  const EtcdLeadershipOptions options_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> kv_;
  std::vector<std::unique_ptr<etcdserverpb::Lease::Stub>> leases_;
  size_t endpoint_ = 0;
  int64_t lease_id_ = 0;
  absl::Time lease_renewed_;
  std::string value_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_STORE_ETCD_LEADERSHIP_H_
