#include "service/server/http_response.h"

#include <civetweb.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lrsched {
namespace {

// JSON string escaping of a message: quotes, backslashes and control
// characters; other bytes (UTF-8 included) pass through.
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace

int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    default:  // UNKNOWN, INTERNAL, DATA_LOSS
      return 500;
  }
}

std::string ErrorBody(const grpc::Status& status) {
  const std::string code =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  return absl::StrCat("{\"code\": ", JsonString(code),
                      ", \"message\": ", JsonString(status.error_message()), "}");
}

bool SendResponse(mg_connection* connection, int http_status, absl::string_view content_type,
                  absl::string_view body, ResponseOptions options) {
  const std::string head = absl::StrCat(
      "HTTP/1.1 ", http_status, " ", mg_get_response_code_text(connection, http_status),
      "\r\nContent-Type: ", content_type, "\r\nContent-Length: ", body.size(),
      "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
      "Content-Security-Policy: default-src 'self'; img-src 'self' data:; "
      "frame-ancestors 'none'\r\n",
      options.close ? "Connection: close\r\n" : "", "\r\n");
  return mg_write(connection, head.data(), head.size()) > 0 &&
         (options.head_only || body.empty() || mg_write(connection, body.data(), body.size()) > 0);
}

bool SendError(mg_connection* connection, const grpc::Status& status, int http_status,
               ResponseOptions options) {
  return SendResponse(connection,
                      http_status != 0 ? http_status : HttpStatusFor(status.error_code()),
                      "application/json", ErrorBody(status), options);
}

}  // namespace lrsched
