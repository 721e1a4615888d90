// absl::Status inside, grpc::Status at the wire: the one place they convert,
// for both ends of the wire (the server's handlers, the client library,
// lrschedctl and the tests).
//
// Not installed: the client library links it, but no installed header
// includes it.
#ifndef LRSCHED_PROTO_STATUS_CONVERSION_H_
#define LRSCHED_PROTO_STATUS_CONVERSION_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace lrsched {

// The same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace lrsched

#endif  // LRSCHED_PROTO_STATUS_CONVERSION_H_
