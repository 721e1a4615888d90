#include "service/server/http_response.h"

#include <civetweb.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lrsched {
namespace {

// The length of the well-formed UTF-8 sequence that `text` starts with
// (Unicode's table 3-7), or minus the length of its maximal ill-formed part.
int Utf8SequenceAt(absl::string_view text) {
  const unsigned char lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // beyond U+10FFFF
  } else {
    return -1;
  }
  for (size_t i = 1; i < length; ++i) {
    if (i >= text.size()) return -static_cast<int>(i);
    const unsigned char next = static_cast<unsigned char>(text[i]);
    if (next < low || next > high) return -static_cast<int>(i);
    low = 0x80;
    high = 0xbf;
  }
  return static_cast<int>(length);
}

// JSON string escaping of a message: quotes, backslashes and control
// characters. A message may carry bytes of the request (a path, a Host
// header) that are not UTF-8, which JSON must be: each maximal ill-formed
// part becomes one U+FFFD, as a browser decodes it.
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const int length = Utf8SequenceAt(text.substr(i));
      if (length > 0) {
        out.append(text.data() + i, static_cast<size_t>(length));
      } else {
        out += "\xef\xbf\xbd";
      }
      i += static_cast<size_t>(length > 0 ? length : -length);
      continue;
    }
    ++i;
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
