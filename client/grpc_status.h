// The client's one place where grpc::Status becomes absl::Status, and where a
// failed call is judged worth repeating. (The server converts in its own
// service/server/status_conversion.h: the client may not link the server.)
// Internal to the client library and lrschedctl; not installed.
#ifndef LRSCHED_CLIENT_GRPC_STATUS_H_
#define LRSCHED_CLIENT_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace lrsched::client_internal {

// The same code and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

// Whether asking again may change what a call does.
enum class Repeat {
  // Asking again is harmless: a read, a report of the same value, a Step,
  // creating the same job.
  kIdempotent,
  // A second call would act again (an override) or answer differently (a
  // deletion): repeat only what certainly did not act.
  kIfNotApplied,
};

// Whether a call that failed with `status` is worth making again, as the
// server restarts or comes back. The caller must not have cancelled the call
// itself (lrsched::Client never does).
bool Transient(const grpc::Status& status, Repeat repeat);

}  // namespace lrsched::client_internal

#endif  // LRSCHED_CLIENT_GRPC_STATUS_H_
