#include "service/server/http_gateway.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <grpc/grpc.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "service/server/http_assets.h"
#include "service/server/http_event_stream.h"
#include "service/server/http_response.h"

namespace lrsched {
namespace {

using Stub = v1::SchedulerService::Stub;
// A unary RPC from JSON to JSON: the request's JSON in, the response's out.
using UnaryCall =
    std::function<grpc::Status(Stub*, grpc::ClientContext*, const std::string&, std::string*)>;

constexpr char kApiPrefix[] = "/api/v1/";

google::protobuf::util::JsonPrintOptions PrintOptions() {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  return options;
}

template <typename Request, typename Response>
UnaryCall Unary(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*)) {
  return [method](Stub* stub, grpc::ClientContext* context, const std::string& body,
                  std::string* out) {
    Request request;
    const auto parsed =
        google::protobuf::util::JsonStringToMessage(body.empty() ? "{}" : body, &request);
    if (!parsed.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("the body is not a ", Request::descriptor()->full_name(),
                                       " in JSON: ", parsed.message().as_string()));
    }
    Response response;
    grpc::Status status = (stub->*method)(context, request, &response);
    if (status.ok()) google::protobuf::util::MessageToJsonString(response, out, PrintOptions());
    return status;
  };
}

const absl::flat_hash_map<std::string, UnaryCall>& UnaryCalls() {
  static const auto* calls = new absl::flat_hash_map<std::string, UnaryCall>{
      {"CreateJob", Unary(&Stub::CreateJob)},
      {"GetJob", Unary(&Stub::GetJob)},
      {"ListJobs", Unary(&Stub::ListJobs)},
      {"DeleteJob", Unary(&Stub::DeleteJob)},
      {"Step", Unary(&Stub::Step)},
      {"ReportMetric", Unary(&Stub::ReportMetric)},
      {"SetLearningRate", Unary(&Stub::SetLearningRate)},
      {"SetWorldSize", Unary(&Stub::SetWorldSize)},
      {"PreviewSchedule", Unary(&Stub::PreviewSchedule)},
  };
  return *calls;
}

std::string Header(const mg_connection* connection, const char* name) {
  const char* value = mg_get_header(connection, name);
  return value == nullptr ? "" : value;
}

// A query parameter, or "" when absent. As long as the query itself, so
// that a value too long for its field reaches the field's own check.
std::string QueryValue(const mg_request_info& info, const char* name) {
  if (info.query_string == nullptr) return "";
  const size_t size = std::strlen(info.query_string);
  std::vector<char> value(size + 1);
  const int length = mg_get_var(info.query_string, size, name, value.data(), value.size());
  return length < 0 ? "" : std::string(value.data(), static_cast<size_t>(length));
}

// A request whose body is left unread: civetweb closes its connection.
ResponseOptions Closing() {
  ResponseOptions options;
  options.close = true;
  return options;
}

ResponseOptions HeadOnly(bool head_only) {
  ResponseOptions options;
  options.head_only = head_only;
  return options;
}

grpc::Status Refused(grpc::StatusCode code, std::string message) {
  return grpc::Status(code, std::move(message));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::Start(const HttpGatewayOptions& options,
                                                                ChannelSource channels) {
  std::unique_ptr<HttpGateway> gateway(new HttpGateway(options, std::move(channels)));
  mg_init_library(0);
  const std::string threads =
      absl::StrCat(options.max_event_streams + std::max(options.call_threads, 1));
  const char* civetweb_options[] = {"listening_ports",
                                    options.listen.c_str(),
                                    "num_threads",
                                    threads.c_str(),
                                    "enable_keep_alive",
                                    "yes",
                                    // A connection holds a thread while it
                                    // sends its request or reads an answer:
                                    // one that stalls lets go of it soon.
                                    "request_timeout_ms",
                                    "5000",
                                    // No cross-origin grants: another site's
                                    // page may not call the API (civetweb
                                    // grants every origin by default).
                                    "access_control_allow_origin",
                                    "",
                                    "enable_directory_listing",
                                    "no",
                                    nullptr};
  mg_callbacks callbacks{};
  // civetweb prints to stderr unless told otherwise; the bind error below says it.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = gateway.get();
  init.configuration_options = civetweb_options;
  mg_error_data error{};
  char error_text[256] = "";
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  gateway->context_ = mg_start2(&init, &error);
  if (gateway->context_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("--http_listen=", options.listen, ": cannot serve HTTP there: ", error_text));
  }
  mg_set_request_handler(gateway->context_, "/", &HttpGateway::HandleRequest, gateway.get());
  mg_server_port ports[4];
  const int count = mg_get_server_ports(gateway->context_, 4, ports);
  if (count > 0) gateway->port_ = ports[0].port;
  return gateway;
}

HttpGateway::HttpGateway(const HttpGatewayOptions& options, ChannelSource channels)
    : options_(options), channels_(std::move(channels)) {}

HttpGateway::~HttpGateway() { Shutdown(); }

void HttpGateway::Shutdown() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    for (grpc::ClientContext* call : calls_) call->TryCancel();
  }
  // Waits for every civetweb thread, so for every call's end.
  if (context_ != nullptr) {
    mg_stop(context_);
    mg_exit_library();
  }
}

HttpGateway::ChannelSource HttpGateway::LocalChannel(
    const std::string& listen, int port, std::shared_ptr<grpc::ChannelCredentials> credentials,
    const std::string& server_name) {
  absl::string_view host = listen;
  const size_t colon = host.rfind(':');
  host = colon == absl::string_view::npos ? "" : host.substr(0, colon);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "[::]") host = "[::1]";
  grpc::ChannelArguments arguments;
  if (credentials != nullptr && !server_name.empty()) {
    arguments.SetSslTargetNameOverride(server_name);
  }
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      absl::StrCat(host, ":", port),
      credentials != nullptr ? credentials : grpc::InsecureChannelCredentials(), arguments);
  return [channel] { return channel; };
}

void HttpGateway::Track(grpc::ClientContext* context, const std::string& authorization,
                        absl::Duration timeout) {
  if (!authorization.empty()) context->AddMetadata("authorization", authorization);
  if (timeout != absl::ZeroDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  std::lock_guard<std::mutex> lock(calls_mu_);
  if (stopping_) context->TryCancel();
  calls_.push_back(context);
}

void HttpGateway::Forget(grpc::ClientContext* context) {
  std::lock_guard<std::mutex> lock(calls_mu_);
  calls_.erase(std::remove(calls_.begin(), calls_.end(), context), calls_.end());
}

int HttpGateway::HandleRequest(mg_connection* connection, void* gateway) {
  return static_cast<HttpGateway*>(gateway)->Handle(connection);
}

namespace {

// Why a call to the API may not come from where it comes from, or empty.
// Another site's page in a browser: its Origin is not this server. A page
// of a name that resolves to this server (DNS rebinding): the Host it
// names is not an address (nor localhost), which a port-forward or a
// direct call always is.
std::string CrossSite(const mg_connection* connection) {
  const std::string host = Header(connection, "Host");
  absl::string_view name = host;
  if (absl::StartsWith(name, "[")) {
    name = name.substr(0, name.find(']') + 1);
  } else if (const size_t colon = name.rfind(':'); colon != absl::string_view::npos) {
    name = name.substr(0, colon);
  }
  const std::string bare(absl::StripPrefix(absl::StripSuffix(name, "]"), "["));
  in6_addr address;
  const bool literal = inet_pton(AF_INET, bare.c_str(), &address) == 1 ||
                       inet_pton(AF_INET6, bare.c_str(), &address) == 1;
  if (!literal && absl::AsciiStrToLower(bare) != "localhost") {
    return absl::StrCat("the API answers calls to an address or localhost, not to the name '",
                        bare, "' (a page of another site may resolve its name to this server)");
  }
  const std::string origin = Header(connection, "Origin");
  if (!origin.empty() && origin != absl::StrCat("http://", host)) {
    return absl::StrCat("a page of ", origin, " may not call the API of ", host);
  }
  return "";
}

}  // namespace

int HttpGateway::Handle(mg_connection* connection) {
  const mg_request_info* info = mg_get_request_info(connection);
  const absl::string_view method = info->request_method;
  absl::string_view path = info->local_uri != nullptr ? info->local_uri : "";
  if (absl::StartsWith(path, kApiPrefix)) {
    if (const std::string refused = CrossSite(connection); !refused.empty()) {
      SendError(connection, Refused(grpc::StatusCode::PERMISSION_DENIED, refused), 403,
                Closing());
      return 403;
    }
    // gRPC metadata carries printable ASCII only; it would take anything
    // else for a misuse of its API and end the process.
    const std::string authorization = Header(connection, "Authorization");
    if (!grpc_header_nonbin_value_is_legal(
            grpc_slice_from_static_buffer(authorization.data(), authorization.size()))) {
      SendError(connection,
                Refused(grpc::StatusCode::UNAUTHENTICATED,
                        "the Authorization header must be printable ASCII, 'Bearer TOKEN'"),
                401, Closing());
      return 401;
    }
    if (options_.require_token && authorization.empty()) {
      SendError(connection,
                Refused(grpc::StatusCode::UNAUTHENTICATED,
                        "no token: the API of this server's HTTP port takes callers with "
                        "'Authorization: Bearer TOKEN' only"),
                401);
      return 401;
    }
  }
  if (absl::ConsumePrefix(&path, kApiPrefix)) {
    const std::string rpc(path);
    if (rpc == "WatchJob") {
      if (method != "GET") {
        SendError(connection,
                  Refused(grpc::StatusCode::INVALID_ARGUMENT,
                          "WatchJob is GET /api/v1/WatchJob?job_id=JOB&from_sequence=N "
                          "(Server-Sent Events)"),
                  405, Closing());
        return 405;
      }
      ServeWatch(connection);
      return 200;
    }
    if (!UnaryCalls().contains(rpc)) {
      SendError(connection,
                Refused(grpc::StatusCode::UNIMPLEMENTED,
                        absl::StrCat("no RPC ", rpc, " in lrsched.v1.SchedulerService")),
                404, Closing());
      return 404;
    }
    if (method != "POST") {
      SendError(connection,
                Refused(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat(rpc, " is POST /api/v1/", rpc, " with the request in JSON")),
                405, Closing());
      return 405;
    }
    ServeCall(connection, rpc);
    return 200;
  }
  const HttpAsset* asset = FindHttpAsset(path);
  if (asset == nullptr || (method != "GET" && method != "HEAD")) {
    SendError(connection, Refused(grpc::StatusCode::NOT_FOUND, absl::StrCat("no page ", path)),
              404);
    return 404;
  }
  SendResponse(connection, 200, asset->content_type,
               absl::string_view(reinterpret_cast<const char*>(asset->data), asset->size),
               HeadOnly(method == "HEAD"));
  return 200;
}

void HttpGateway::ServeCall(mg_connection* connection, const std::string& rpc) {
  // JSON only: a form or text/plain POST from another site's page would be a
  // "simple" cross-origin request that browsers send without asking.
  const std::string content_type = absl::AsciiStrToLower(Header(connection, "Content-Type"));
  const absl::string_view media_type =
      absl::StripAsciiWhitespace(absl::string_view(content_type).substr(0, content_type.find(';')));
  if (media_type != "application/json") {
    SendError(connection,
              Refused(grpc::StatusCode::INVALID_ARGUMENT,
                      "send the request as Content-Type: application/json"),
              415, Closing());
    return;
  }
  const mg_request_info* info = mg_get_request_info(connection);
  if (info->content_length > options_.max_body_bytes) {
    SendError(
        connection,
        Refused(grpc::StatusCode::RESOURCE_EXHAUSTED,
                absl::StrCat("the request body is ", info->content_length,
                             " bytes; the HTTP port reads at most ", options_.max_body_bytes)),
        413, Closing());
    return;
  }
  std::string body;
  char buffer[16384];
  int read;
  while ((read = mg_read(connection, buffer, sizeof(buffer))) > 0) {
    body.append(buffer, static_cast<size_t>(read));
    if (static_cast<int64_t>(body.size()) > options_.max_body_bytes) {
      SendError(connection,
                Refused(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("the request body is over the ", options_.max_body_bytes,
                                     " bytes the HTTP port reads")),
                413, Closing());
      return;
    }
  }
  // A body cut short is not a request: never run part of one.
  if (read < 0 ||
      (info->content_length >= 0 && static_cast<int64_t>(body.size()) != info->content_length)) {
    SendError(connection,
              Refused(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("the request body ended after ", body.size(),
                                   " bytes, before its Content-Length or its last chunk")),
              400, Closing());
    return;
  }
  grpc::ClientContext context;
  Track(&context, Header(connection, "Authorization"), options_.call_timeout);
  std::string response;
  const std::unique_ptr<Stub> stub = v1::SchedulerService::NewStub(channels_());
  const grpc::Status status = UnaryCalls().at(rpc)(stub.get(), &context, body, &response);
  Forget(&context);
  if (!status.ok()) {
    SendError(connection, status);
    return;
  }
  SendResponse(connection, 200, "application/json", response);
}

void HttpGateway::ServeWatch(mg_connection* connection) {
  const mg_request_info* info = mg_get_request_info(connection);
  v1::WatchJobRequest request;
  request.set_job_id(QueryValue(*info, "job_id"));
  const std::string from = QueryValue(*info, "from_sequence");
  constexpr int64_t kLastSequence = (int64_t{1} << 53) - 1;
  int64_t from_sequence = 0;
  if (!from.empty() && (!absl::SimpleAtoi(from, &from_sequence) || from_sequence < 0 ||
                        from_sequence > kLastSequence)) {
    SendError(connection,
              Refused(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("from_sequence: must be in [0, ", kLastSequence, "], got ", from)));
    return;
  }
  // An EventSource that reconnects resumes after the last event it saw.
  int64_t last_event_id = 0;
  if (absl::SimpleAtoi(Header(connection, "Last-Event-ID"), &last_event_id) &&
      last_event_id >= 0 && last_event_id < kLastSequence) {
    from_sequence = std::max(from_sequence, last_event_id + 1);
  }
  request.set_from_sequence(from_sequence);
  const std::string authorization = Header(connection, "Authorization");
  const std::unique_ptr<Stub> stub = v1::SchedulerService::NewStub(channels_());

  // The job's existence and the caller's right to it, asked the server the
  // way GetJob answers them, so that a refusal is an HTTP error status
  // rather than a stream that fails at once.
  {
    grpc::ClientContext context;
    Track(&context, authorization, options_.call_timeout);
    v1::GetJobRequest get;
    get.set_job_id(request.job_id());
    get.set_view(v1::JOB_VIEW_BASIC);
    v1::Job job;
    const grpc::Status status = stub->GetJob(&context, get, &job);
    Forget(&context);
    if (!status.ok()) {
      SendError(connection, status);
      return;
    }
  }
  if (open_streams_.fetch_add(1) >= options_.max_event_streams) {
    open_streams_.fetch_sub(1);
    SendError(connection,
              Refused(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat("the HTTP port serves at most ", options_.max_event_streams,
                                   " WatchJob streams at once; try again later")));
    return;
  }
  HttpEventStream stream;
  Track(stream.context(), authorization, absl::ZeroDuration());
  stream.Serve(connection, stub.get(), request, options_.keepalive_interval);
  Forget(stream.context());
  open_streams_.fetch_sub(1);
}

}  // namespace lrsched
