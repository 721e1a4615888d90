// absl::Status inside, grpc::Status at the wire: the one place they convert.
#ifndef LRSCHED_SERVICE_SERVER_STATUS_CONVERSION_H_
#define LRSCHED_SERVICE_SERVER_STATUS_CONVERSION_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace lrsched {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_STATUS_CONVERSION_H_
