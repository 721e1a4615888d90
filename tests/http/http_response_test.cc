// The HTTP side's answers to a gRPC status: the status code of each gRPC
// code, and the error body that keeps the server's message intact.
#include "service/server/http_response.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lrsched {
namespace {

TEST(HttpStatusForTest, FollowsTheGoogleApiMapping) {
  using grpc::StatusCode;
  EXPECT_EQ(HttpStatusFor(StatusCode::OK), 200);
  EXPECT_EQ(HttpStatusFor(StatusCode::CANCELLED), 499);
  EXPECT_EQ(HttpStatusFor(StatusCode::UNKNOWN), 500);
  EXPECT_EQ(HttpStatusFor(StatusCode::INVALID_ARGUMENT), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::DEADLINE_EXCEEDED), 504);
  EXPECT_EQ(HttpStatusFor(StatusCode::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::ALREADY_EXISTS), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::PERMISSION_DENIED), 403);
  EXPECT_EQ(HttpStatusFor(StatusCode::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(HttpStatusFor(StatusCode::FAILED_PRECONDITION), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::ABORTED), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::OUT_OF_RANGE), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::UNIMPLEMENTED), 501);
  EXPECT_EQ(HttpStatusFor(StatusCode::INTERNAL), 500);
  EXPECT_EQ(HttpStatusFor(StatusCode::UNAVAILABLE), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::DATA_LOSS), 500);
  EXPECT_EQ(HttpStatusFor(StatusCode::UNAUTHENTICATED), 401);
}

TEST(ErrorBodyTest, NamesTheCodeAndKeepsTheMessage) {
  EXPECT_EQ(ErrorBody(grpc::Status(grpc::StatusCode::NOT_FOUND, "no job \"x\"")),
            R"({"code": "NOT_FOUND", "message": "no job \"x\""})");
}

TEST(ErrorBodyTest, EscapesControlCharactersAndKeepsUtf8) {
  EXPECT_EQ(ErrorBody(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   std::string("a\\b\n\tc\x01 \xc3\xa9", 10))),
            "{\"code\": \"INVALID_ARGUMENT\", \"message\": \"a\\\\b\\n\\tc\\u0001 \xc3\xa9\"}");
}

}  // namespace
}  // namespace lrsched
