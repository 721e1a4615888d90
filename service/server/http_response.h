// What the HTTP side answers with: the HTTP status of a gRPC code, the JSON
// error body, and whole responses written to a civetweb connection.
//
// Thread-compatible: a connection is written by the one thread serving it.
#ifndef LRSCHED_SERVICE_SERVER_HTTP_RESPONSE_H_
#define LRSCHED_SERVICE_SERVER_HTTP_RESPONSE_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/strings/string_view.h"

struct mg_connection;

namespace lrsched {

// The HTTP status for a gRPC code, as google.api's HTTP mapping has it
// (FAILED_PRECONDITION and OUT_OF_RANGE 400, ABORTED and ALREADY_EXISTS
// 409, RESOURCE_EXHAUSTED 429, CANCELLED 499, ...).
int HttpStatusFor(grpc::StatusCode code);

// {"code": "NOT_FOUND", "message": "..."}: the code's canonical name and the
// server's message, unchanged.
std::string ErrorBody(const grpc::Status& status);

// What to add to a response.
struct ResponseOptions {
  // Leave the body out (a HEAD request).
  bool head_only = false;
  // Tell the client not to send another request on the connection: the
  // request's body was not read, so civetweb closes it.
  bool close = false;
};

// Writes a complete response with a Content-Length; false when the
// connection failed.
bool SendResponse(mg_connection* connection, int http_status, absl::string_view content_type,
                  absl::string_view body, ResponseOptions options = {});
// SendResponse of ErrorBody(status) under HttpStatusFor(status's code), or
// `http_status` when given.
bool SendError(mg_connection* connection, const grpc::Status& status, int http_status = 0,
               ResponseOptions options = {});

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_HTTP_RESPONSE_H_
