// absl::Time as the protobuf Timestamp that events and views carry.
#ifndef LRSCHED_SERVICE_JOB_PROTO_TIME_H_
#define LRSCHED_SERVICE_JOB_PROTO_TIME_H_

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"

namespace lrsched {

inline google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
}

inline absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixNanos(google::protobuf::util::TimeUtil::TimestampToNanoseconds(timestamp));
}

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_JOB_PROTO_TIME_H_
