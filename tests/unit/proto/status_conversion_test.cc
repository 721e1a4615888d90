#include "proto/status_conversion.h"

#include "gtest/gtest.h"

namespace lrsched {
namespace {

TEST(StatusConversionTest, FromGrpcKeepsCodeAndMessage) {
  const absl::Status status =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "step 3 undecided"));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "step 3 undecided");
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(StatusConversionTest, ToGrpcKeepsCodeAndMessage) {
  const grpc::Status status = ToGrpcStatus(absl::OutOfRangeError("step: 7 is after step 5"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(status.error_message(), "step: 7 is after step 5");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace lrsched
