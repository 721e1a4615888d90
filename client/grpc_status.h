// The client's one place where a failed call is judged worth repeating, from
// its grpc::Status. (The status itself converts to absl::Status in
// proto/status_conversion.h, shared with the server.) Internal to the client
// library and lrschedctl; not installed.
#ifndef LRSCHED_CLIENT_GRPC_STATUS_H_
#define LRSCHED_CLIENT_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

namespace lrsched::client_internal {

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
