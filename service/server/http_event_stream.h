// One WatchJob call relayed as Server-Sent Events to an HTTP reader, on the
// civetweb thread that serves the reader: the gRPC side is a callback
// reactor that only hands each event over (it never blocks a gRPC thread),
// and the civetweb thread writes it and only then asks for the next, so a
// slow reader holds back its own stream and nothing else (the server ends
// a stream that falls too far behind with RESOURCE_EXHAUSTED).
//
// Thread-safe: Serve runs on one thread; the context may be cancelled from
// any.
#ifndef LRSCHED_SERVICE_SERVER_HTTP_EVENT_STREAM_H_
#define LRSCHED_SERVICE_SERVER_HTTP_EVENT_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "lrsched/v1/event.pb.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"

struct mg_connection;

namespace lrsched {

class HttpEventStream final : public grpc::ClientReadReactor<v1::JobEvent> {
 public:
  HttpEventStream() = default;

  // The call's context, to set up before Serve and to cancel (TryCancel)
  // from any thread, so that Serve returns soon.
  grpc::ClientContext* context() { return &context_; }
  // Sends the response head, then each event as `id: SEQUENCE` and `data:
  // JSON`, a comment line every `keepalive` while idle; ends after the
  // stream does: `event: end` after the job's deletion, `event: error` with
  // the error body when it fails. Returns once the call is done, also when
  // the reader went away or Stop was called.
  void Serve(mg_connection* connection, v1::SchedulerService::Stub* stub,
             const v1::WatchJobRequest& request, absl::Duration keepalive);
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  grpc::ClientContext context_;
  std::mutex mu_;
  std::condition_variable changed_;
  // The event read, until Serve takes it.
  v1::JobEvent event_;
  // A read is started and not done.
  bool reading_ = false;
  bool has_event_ = false;
  // A read found the stream's end (OnDone follows once the hold is gone).
  bool read_ended_ = false;
  bool done_ = false;
  grpc::Status status_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_HTTP_EVENT_STREAM_H_
