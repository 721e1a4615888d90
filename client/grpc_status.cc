#include "client/grpc_status.h"

namespace lrsched::client_internal {

bool Transient(const grpc::Status& status, Repeat repeat) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      // The server was not reached, or refused the call (a closed job, a
      // draining server), as gRPC's own retry policy assumes: it repeats
      // these calls too.
      return true;
    case grpc::StatusCode::CANCELLED:
      // The caller did not cancel, so the other side did: gRPC's server
      // cancels a call that reaches it while it shuts down, before the
      // service sees it, and one still running when its drain runs out. The
      // call may or may not have acted: for an idempotent call, asking the
      // restarted server again gives the answer it would have given.
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      // The call's own deadline (a server that does not answer, a Step
      // whose step was not decided within step_wait) or the server's drain:
      // again, the outcome is unknown.
      return repeat == Repeat::kIdempotent;
    default:
      return false;
  }
}

}  // namespace lrsched::client_internal
