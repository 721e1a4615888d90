#include "client/grpc_status.h"

#include "gtest/gtest.h"

namespace lrsched::client_internal {
namespace {

TEST(GrpcStatusTest, IdempotentCallsRepeatEveryOutcomeOfARestartingServer) {
  for (const auto code : {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::CANCELLED,
                          grpc::StatusCode::DEADLINE_EXCEEDED}) {
    EXPECT_TRUE(Transient(grpc::Status(code, ""), Repeat::kIdempotent)) << code;
  }
}

TEST(GrpcStatusTest, AnOverrideIsRepeatedOnlyWhenTheServerDidNotAct) {
  EXPECT_TRUE(Transient(grpc::Status(grpc::StatusCode::UNAVAILABLE, ""), Repeat::kIfNotApplied));
  EXPECT_FALSE(Transient(grpc::Status(grpc::StatusCode::CANCELLED, ""), Repeat::kIfNotApplied));
  EXPECT_FALSE(
      Transient(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, ""), Repeat::kIfNotApplied));
}

TEST(GrpcStatusTest, TheServersVerdictsAreNotRepeated) {
  for (const auto code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::NOT_FOUND,
        grpc::StatusCode::ALREADY_EXISTS, grpc::StatusCode::FAILED_PRECONDITION,
        grpc::StatusCode::OUT_OF_RANGE, grpc::StatusCode::DATA_LOSS,
        grpc::StatusCode::INTERNAL}) {
    EXPECT_FALSE(Transient(grpc::Status(code, ""), Repeat::kIdempotent)) << code;
  }
}

}  // namespace
}  // namespace lrsched::client_internal
