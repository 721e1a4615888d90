// A standby replica's service: every call it gets (SchedulerService and any
// other that is not served here) goes on, byte for byte, to the replica that
// leads, and the leader's answer comes back the same way, streams, status
// and metadata included. Nothing is decoded, so the proxy needs no change
// when the API grows; a call's deadline and cancellation go along.
//
// Thread-safe.
#ifndef LRSCHED_SERVICE_SERVER_LEADER_PROXY_H_
#define LRSCHED_SERVICE_SERVER_LEADER_PROXY_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "service/common/mutex.h"

namespace lrsched {

class LeaderProxy final {
 public:
  // Forwards in plaintext unless `credentials`; with TLS, `server_name`
  // (when set) is the name verified in the leader's certificate, instead of
  // its address's host. With `require_token`, a SchedulerService call that
  // carries no `authorization` token is refused (UNAUTHENTICATED) rather
  // than forwarded: the leader would see this replica's certificate, not
  // the caller's, and take the call for the replica's.
  explicit LeaderProxy(std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr,
                       std::string server_name = "", bool require_token = false)
      : credentials_(credentials ? std::move(credentials) : grpc::InsecureChannelCredentials()),
        server_name_(std::move(server_name)),
        require_token_(require_token) {}

  // This replica's own address, never forwarded to.
  void SetSelf(const std::string& address);
  // Where calls go from now on; empty: nowhere yet (calls get UNAVAILABLE).
  void SetLeader(const std::string& address);
  // Calls forwarded so far.
  int64_t forwarded() const { return forwarded_.load(std::memory_order_relaxed); }
  // Blocks until every call taken has ended. gRPC does not wait for them
  // when its server shuts down, yet their ends still go through it: the
  // server must outlive them.
  void AwaitNoCalls();
  // For the calls themselves: one ended.
  void Ended();

  // A generic service that forwards through this proxy, for one server:
  // gRPC binds a generic service to the first server it is registered with
  // for good, and a standby is a new server each time. It must outlive that
  // server.
  std::unique_ptr<grpc::CallbackGenericService> NewService();

  grpc::ServerGenericBidiReactor* Forward(grpc::GenericCallbackServerContext* context);

 private:
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const std::string server_name_;
  const bool require_token_;
  mutable Mutex mu_;
  std::string self_ ABSL_GUARDED_BY(mu_);
  std::string leader_ ABSL_GUARDED_BY(mu_);
  // Connections to the leader, taken in turn by the calls.
  static constexpr int kConnections = 8;
  std::vector<std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
  size_t next_channel_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> forwarded_{0};
  // A plain condition variable, which ThreadSanitizer sees through.
  std::mutex calls_mu_;
  std::condition_variable no_calls_;
  int64_t active_ = 0;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_LEADER_PROXY_H_
