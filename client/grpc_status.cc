#include "client/grpc_status.h"

#include <string>

namespace lrsched::client_internal {
namespace {

// The canonical codes are the same numbers in both libraries; a cast is
// correct only while these hold.
#define LRSCHED_SAME_CODE(name, grpc_name)                                    \
  static_assert(static_cast<int>(absl::StatusCode::name) ==                   \
                    static_cast<int>(grpc::StatusCode::grpc_name),            \
                #name " differs between absl and gRPC")
LRSCHED_SAME_CODE(kOk, OK);
LRSCHED_SAME_CODE(kCancelled, CANCELLED);
LRSCHED_SAME_CODE(kUnknown, UNKNOWN);
LRSCHED_SAME_CODE(kInvalidArgument, INVALID_ARGUMENT);
LRSCHED_SAME_CODE(kDeadlineExceeded, DEADLINE_EXCEEDED);
LRSCHED_SAME_CODE(kNotFound, NOT_FOUND);
LRSCHED_SAME_CODE(kAlreadyExists, ALREADY_EXISTS);
LRSCHED_SAME_CODE(kPermissionDenied, PERMISSION_DENIED);
LRSCHED_SAME_CODE(kResourceExhausted, RESOURCE_EXHAUSTED);
LRSCHED_SAME_CODE(kFailedPrecondition, FAILED_PRECONDITION);
LRSCHED_SAME_CODE(kAborted, ABORTED);
LRSCHED_SAME_CODE(kOutOfRange, OUT_OF_RANGE);
LRSCHED_SAME_CODE(kUnimplemented, UNIMPLEMENTED);
LRSCHED_SAME_CODE(kInternal, INTERNAL);
LRSCHED_SAME_CODE(kUnavailable, UNAVAILABLE);
LRSCHED_SAME_CODE(kDataLoss, DATA_LOSS);
LRSCHED_SAME_CODE(kUnauthenticated, UNAUTHENTICATED);
#undef LRSCHED_SAME_CODE

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

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
