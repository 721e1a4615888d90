#include "lrsched/client.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "client/grpc_status.h"
#include "proto/status_conversion.h"

namespace lrsched {
namespace {

using client_internal::Repeat;

std::string Seconds(absl::Duration duration) {
  return absl::StrFormat("%.3fs", absl::ToDoubleSeconds(duration));
}

absl::StatusOr<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (!in || !(text << in.rdbuf())) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  }
  return text.str();
}

}  // namespace

void ClientTls::DefaultFromEnvironment() {
  for (auto [field, variable] : {std::pair{&ca_file, "LRSCHED_TLS_CA_FILE"},
                                 std::pair{&cert_file, "LRSCHED_TLS_CERT_FILE"},
                                 std::pair{&key_file, "LRSCHED_TLS_KEY_FILE"},
                                 std::pair{&server_name, "LRSCHED_TLS_SERVER_NAME"}}) {
    const char* value = std::getenv(variable);
    if (field->empty() && value != nullptr) *field = value;
  }
}

absl::Status UseTls(const ClientTls& tls, ClientOptions* options) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file go together: the client's certificate and its key");
  }
  grpc::SslCredentialsOptions ssl;
  if (!tls.ca_file.empty()) {
    auto roots = ReadFile("tls_ca_file", tls.ca_file);
    if (!roots.ok()) return roots.status();
    ssl.pem_root_certs = *std::move(roots);
  }
  if (!tls.cert_file.empty()) {
    auto chain = ReadFile("tls_cert_file", tls.cert_file);
    if (!chain.ok()) return chain.status();
    auto key = ReadFile("tls_key_file", tls.key_file);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(chain);
    ssl.pem_private_key = *std::move(key);
  }
  options->credentials = grpc::SslCredentials(ssl);
  options->tls_server_name = tls.server_name;
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  auto token = ReadFile("token_file", path);
  if (!token.ok()) return token.status();
  const std::string stripped(absl::StripAsciiWhitespace(*token));
  if (stripped.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--token_file: ", path, " is empty"));
  }
  // gRPC sends printable ASCII only in metadata; anything else it takes for
  // a misuse of its API and ends the process.
  for (size_t i = 0; i < stripped.size(); ++i) {
    if (stripped[i] < 0x20 || stripped[i] > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token_file: ", path, " holds a byte that is not printable ASCII (at ", i,
                       " of the token); a token is printable ASCII"));
    }
  }
  return stripped;
}

absl::Status UseTokenFile(std::string token_file, ClientOptions* options) {
  const char* environment = std::getenv("LRSCHED_TOKEN_FILE");
  if (token_file.empty() && environment != nullptr) token_file = environment;
  if (token_file.empty()) return absl::OkStatus();
  auto token = ReadTokenFile(token_file);
  if (!token.ok()) return token.status();
  options->token = *std::move(token);
  return absl::OkStatus();
}

std::string ServiceConfigJson(const ClientOptions& options) {
  return absl::StrCat(
      R"({"methodConfig": [{"name": [{"service": "lrsched.v1.SchedulerService"}],)",
      R"( "retryPolicy": {"maxAttempts": )", std::clamp(options.max_attempts, 2, 5),
      R"(, "initialBackoff": ")", Seconds(options.initial_backoff), R"(", "maxBackoff": ")",
      Seconds(options.max_backoff),
      R"(", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]})");
}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(ServiceConfigJson(options_));
  // Come back quickly after a server restart.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.initial_backoff)));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.max_backoff)));
  if (!options_.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options_.tls_server_name);
  }
  if (options_.max_receive_message_bytes > 0) {
    args.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  }
  auto credentials =
      options_.credentials ? options_.credentials : grpc::InsecureChannelCredentials();
  channel_ = grpc::CreateCustomChannel(options_.target, credentials, args);
  stub_ = v1::SchedulerService::NewStub(channel_);
}

void Client::Prepare(grpc::ClientContext* context) const {
  if (!options_.token.empty()) context->AddMetadata("authorization", "Bearer " + options_.token);
}

template <typename Request, typename Response>
absl::StatusOr<Response> Client::Call(
    grpc::Status (v1::SchedulerService::Stub::*method)(grpc::ClientContext*, const Request&,
                                                        Response*),
    const Request& request, absl::Duration timeout, bool idempotent) {
  const absl::Time give_up = absl::Now() + options_.give_up_after;
  while (true) {
    // Never cancelled here: a CANCELLED comes from the server's side.
    grpc::ClientContext context;
    Prepare(&context);
    // Waits for the channel to (re)connect rather than failing at once.
    context.set_wait_for_ready(true);
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    Response response;
    const grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (status.ok()) return response;
    if (!client_internal::Transient(status,
                                    idempotent ? Repeat::kIdempotent : Repeat::kIfNotApplied) ||
        absl::Now() >= give_up) {
      return FromGrpcStatus(status);
    }
  }
}

absl::StatusOr<v1::Job> Client::CreateJob(const v1::CreateJobRequest& request) {
  return Call(&v1::SchedulerService::Stub::CreateJob, request, options_.call_timeout, true);
}

absl::StatusOr<v1::Job> Client::GetJob(const std::string& job_id) {
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  return Call(&v1::SchedulerService::Stub::GetJob, request, options_.call_timeout, true);
}

absl::Status Client::DeleteJob(const std::string& job_id) {
  v1::DeleteJobRequest request;
  request.set_job_id(job_id);
  // Not repeated on an unknown outcome: a deletion that did happen would
  // come back as NOT_FOUND.
  return Call(&v1::SchedulerService::Stub::DeleteJob, request, options_.call_timeout, false)
      .status();
}

absl::StatusOr<v1::ListJobsResponse> Client::ListJobs(const v1::ListJobsRequest& request) {
  return Call(&v1::SchedulerService::Stub::ListJobs, request, options_.call_timeout, true);
}

absl::StatusOr<v1::StepResponse> Client::Step(const std::string& job_id, int rank,
                                              int64_t step, int64_t look_ahead) {
  v1::StepRequest request;
  request.set_job_id(job_id);
  request.set_rank(rank);
  request.set_step(step);
  request.set_look_ahead(look_ahead);
  return Call(&v1::SchedulerService::Stub::Step, request, options_.step_wait, true);
}

absl::StatusOr<v1::ReportMetricResponse> Client::ReportMetric(
    const v1::ReportMetricRequest& request) {
  // Reports are idempotent per (rank, step): the same report again is
  // acknowledged (once durable), so every transient outcome is retried.
  return Call(&v1::SchedulerService::Stub::ReportMetric, request, options_.call_timeout, true);
}

absl::StatusOr<v1::SetLearningRateResponse> Client::SetLearningRate(
    const v1::SetLearningRateRequest& request) {
  // Not idempotent: a second override would stack. Repeated only when the
  // server refused it (UNAVAILABLE); CANCELLED or DEADLINE_EXCEEDED leave
  // the outcome unknown and come back to the caller, who can read the job.
  return Call(&v1::SchedulerService::Stub::SetLearningRate, request, options_.call_timeout,
              false);
}

absl::StatusOr<v1::PreviewScheduleResponse> Client::PreviewSchedule(
    const v1::PreviewScheduleRequest& request) {
  return Call(&v1::SchedulerService::Stub::PreviewSchedule, request, options_.call_timeout,
              true);
}

}  // namespace lrsched
