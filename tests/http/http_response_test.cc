// The HTTP side's answers to a gRPC status: the status code of each gRPC
// code, and the error body that keeps the server's message intact.
#include "service/server/http_response.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

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

// A message may carry bytes of the request (a path, a Host header) that are
// not UTF-8; JSON must be, so each maximal invalid sequence becomes one U+FFFD
// as a browser's TextDecoder reads it.
TEST(ErrorBodyTest, ReplacesWhatIsNotUtf8) {
  const auto message_of = [](absl::string_view bytes) {
    return ErrorBody(grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(bytes)));
  };
  const auto body_with = [](absl::string_view json_text) {
    return absl::StrCat(R"({"code": "NOT_FOUND", "message": ")", json_text, R"("})");
  };
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(message_of("no page /\x80"), body_with("no page /\xef\xbf\xbd"));
  EXPECT_EQ(message_of("end \xc3"), body_with("end \xef\xbf\xbd"));
  EXPECT_EQ(message_of("\xe2\x82x"), body_with("\xef\xbf\xbdx"));
  // Overlong, surrogate and beyond U+10FFFF: each byte is its own subpart.
  EXPECT_EQ(message_of("\xc0\xaf"), body_with(fffd + fffd));
  EXPECT_EQ(message_of("\xed\xa0\x80"), body_with(fffd + fffd + fffd));
  EXPECT_EQ(message_of("\xf4\x90\x80\x80"), body_with(fffd + fffd + fffd + fffd));
  EXPECT_EQ(message_of("\xff"), body_with(fffd));
  // Valid sequences of every length are kept.
  EXPECT_EQ(message_of("\x7f\xc2\x80\xe0\xa0\x80\xef\xbf\xbf\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"),
            body_with("\x7f\xc2\x80\xe0\xa0\x80\xef\xbf\xbf\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));
}

}  // namespace
}  // namespace lrsched
