#include "proto/status_conversion.h"

#include <string>

namespace lrsched {
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

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace lrsched
