// The HTTP/1.1 side of lrsched-server: the web page (static files built into
// the binary) and a JSON API that is the gRPC API in the proto3 JSON mapping:
//
//   POST /api/v1/<Rpc>    the request message as JSON (Content-Type
//                         application/json); answers the response message
//                         as JSON with the proto field names, or an error
//                         {"code": "NOT_FOUND", "message": "..."} under the
//                         HTTP status of the gRPC code (HttpStatusFor).
//   GET /api/v1/WatchJob?job_id=J&from_sequence=N
//                         Server-Sent Events: one `data:` line of JSON per
//                         JobEvent, its sequence as the event's `id:`
//                         (Last-Event-ID resumes after it), `event: end`
//                         when the job is deleted, `event: error` with the
//                         error body when the stream fails.
//
// Every call goes to the gRPC service through a channel, as a gRPC client
// would make it: the same handlers, validation, limits and access control.
// An `Authorization: Bearer TOKEN` header travels as the call's
// `authorization` metadata, exactly as gRPC clients send it.
//
// The HTTP side runs on civetweb's threads and blocks only them (a forwarded
// call waits on its civetweb thread), never a gRPC callback thread. Bounds:
// the request body size, the civetweb threads, and the WatchJob streams open
// at once.
//
// Thread-safe.
#ifndef LRSCHED_SERVICE_SERVER_HTTP_GATEWAY_H_
#define LRSCHED_SERVICE_SERVER_HTTP_GATEWAY_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"

struct mg_connection;
struct mg_context;

namespace lrsched {

struct HttpGatewayOptions {
  // host:port to serve HTTP on (an IPv6 host in brackets); port 0 picks a
  // free one.
  std::string listen;
  // Larger request bodies are refused (413) before they are read.
  int64_t max_body_bytes = 1 << 20;
  // WatchJob streams open at once; more are refused (429). Each holds a
  // civetweb thread while it is open.
  int max_event_streams = 32;
  // civetweb threads beside the streams', for the other calls (a Step may
  // wait on one until its decision or the deadline).
  int call_threads = 8;
  // Deadline of a forwarded call. Each call holds a civetweb thread till it ends: a Step that waits for an
  // undecided step answers DEADLINE_EXCEEDED (504) after this, to be asked
  // again, rather than hold one for a minute.
  absl::Duration call_timeout = absl::Seconds(10);
  // A comment line on an idle event stream this often, so that a reader
  // that went away is noticed (by the second write after it left) and its
  // stream's place freed.
  absl::Duration keepalive_interval = absl::Seconds(2);
  // API calls without an Authorization header are refused (401) here rather
  // than sent: set where the channel carries an identity of its own (a
  // replica's client certificate) that the server must not lend to them.
  bool require_token = false;
};

class HttpGateway {
 public:
  // The channel of each call: asked once per request, so that it may change
  // (a replica's server of the current term).
  using ChannelSource = std::function<std::shared_ptr<grpc::Channel>()>;

  // Serves `options.listen`, forwarding to the SchedulerService that
  // `channels` reach. UNAVAILABLE naming the address when it cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<HttpGateway>> Start(const HttpGatewayOptions& options,
                                                            ChannelSource channels);
  // Shuts down.
  ~HttpGateway();

  // Always the one channel to the gRPC port `port` of this process, whose
  // --listen is `listen`: at its host, or at loopback when it listens on
  // every address. With `credentials`, TLS that expects the server's
  // certificate to name `server_name` (when not empty; else the host).
  static ChannelSource LocalChannel(const std::string& listen, int port,
                                    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr,
                                    const std::string& server_name = "");

  int port() const { return port_; }
  // Stops taking requests, cancels the calls in flight (an event stream
  // ends, a waiting Step answers CANCELLED) and waits for the civetweb
  // threads; idempotent.
  void Shutdown();

 private:
  HttpGateway(const HttpGatewayOptions& options, ChannelSource channels);
  static int HandleRequest(mg_connection* connection, void* gateway);
  int Handle(mg_connection* connection);
  void ServeCall(mg_connection* connection, const std::string& rpc);
  void ServeWatch(mg_connection* connection);
  // Sets the call's credentials and deadline (none when zero), and keeps it
  // for Shutdown until Forget.
  void Track(grpc::ClientContext* context, const std::string& authorization,
             absl::Duration timeout);
  void Forget(grpc::ClientContext* context);

  const HttpGatewayOptions options_;
  const ChannelSource channels_;
  std::atomic<int> open_streams_{0};
  std::atomic<bool> stopping_{false};
  // The calls in flight, for Shutdown to cancel.
  std::mutex calls_mu_;
  std::vector<grpc::ClientContext*> calls_;  // Guarded by calls_mu_.
  mg_context* context_ = nullptr;
  int port_ = 0;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_HTTP_GATEWAY_H_
