// lrsched::Client: a connection to an lrsched server.
//
// Every call has a deadline. Transient failures are retried, so that a
// worker rides out a server restart (SIGTERM and drain, or a crash):
// UNAVAILABLE by gRPC's own retry policy (in the channel's service config,
// with exponential back-off and jitter) and, past it, by the client until
// `give_up_after`. Idempotent calls (all but SetLearningRate and DeleteJob:
// Step, ReportMetric, CreateJob, reads) are also repeated after CANCELLED
// and DEADLINE_EXCEEDED: the client never cancels a call itself, so these
// come from a server that shut down under the call, or a wait that ran out
// (a Step waiting for an undecided step asks again every step_wait); asking
// again is harmless. SetLearningRate and DeleteJob are repeated only after
// UNAVAILABLE; they return CANCELLED and DEADLINE_EXCEEDED to the caller, as
// the change may or may not have happened then (read the job). Errors that retrying cannot fix come back at once
// as absl::Status with the server's code and message.
//
// Thread-safe: share one Client between threads.
#ifndef LRSCHED_CLIENT_CLIENT_H_
#define LRSCHED_CLIENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"

namespace lrsched {

struct ClientOptions {
  // "host:port" of the server.
  std::string target = "localhost:50051";
  // Plaintext when null; grpc::SslCredentials(...) for TLS.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // With TLS: the name to verify in the server's certificate, when it is not
  // the target's host.
  std::string tls_server_name;
  // The caller's bearer token, sent with every call as `authorization:
  // Bearer TOKEN` (a server with --auth_tokens_file requires one, or a
  // client certificate); none when empty. ReadTokenFile reads one.
  // Printable ASCII only, as gRPC metadata is.
  std::string token;
  // Deadline of each call but Step.
  absl::Duration call_timeout = absl::Seconds(10);
  // How long one Step call waits for an undecided step before asking again.
  absl::Duration step_wait = absl::Seconds(30);
  // gRPC's retry policy for UNAVAILABLE: attempts (at most 5) and back-off.
  int max_attempts = 5;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  // How long the client keeps retrying a call through outages in all.
  absl::Duration give_up_after = absl::Minutes(5);
  // The largest answer the client takes (0: gRPC's default, 4 MiB; a
  // PreviewSchedule of about 250,000 steps of one group).
  int max_receive_message_bytes = 0;
};

// A TLS connection to the server, as lrschedctl's and the trainer's --tls_*
// flags (or LRSCHED_TLS_* variables) give it.
struct ClientTls {
  // CA certificates (PEM) that sign the server's certificate; empty: the
  // system's.
  std::string ca_file;
  // The client's own certificate chain and key (PEM), for a server that
  // requires mutual TLS; both or neither.
  std::string cert_file;
  std::string key_file;
  // The name to verify in the server's certificate, when it is not the
  // target's host.
  std::string server_name;

  bool enabled() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
  // Fills what is empty from LRSCHED_TLS_CA_FILE, LRSCHED_TLS_CERT_FILE,
  // LRSCHED_TLS_KEY_FILE and LRSCHED_TLS_SERVER_NAME (a pod's environment).
  void DefaultFromEnvironment();
};

// Sets `options`' credentials (and server name) for `tls`. INVALID_ARGUMENT
// naming the flag of a file that cannot be read, or of a certificate
// without its key.
absl::Status UseTls(const ClientTls& tls, ClientOptions* options);

// The token in `path` (surrounding white space dropped), as a Kubernetes
// Secret mounts it. INVALID_ARGUMENT naming --token_file when it cannot be
// read, is empty or is not printable ASCII.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Sets `options`' token from `token_file` (a --token_file flag), or when
// that is empty from the file LRSCHED_TOKEN_FILE names; no token when
// neither is given. Errors as ReadTokenFile's.
absl::Status UseTokenFile(std::string token_file, ClientOptions* options);

class Client {
 public:
  explicit Client(ClientOptions options);

  // Creates a job, or returns the existing identical one.
  absl::StatusOr<v1::Job> CreateJob(const v1::CreateJobRequest& request);
  absl::StatusOr<v1::Job> GetJob(const std::string& job_id);
  absl::Status DeleteJob(const std::string& job_id);
  absl::StatusOr<v1::ListJobsResponse> ListJobs(const v1::ListJobsRequest& request);
  // The values of `step` and of up to `look_ahead` decided steps after it;
  // waits (asking again every step_wait) while `step` is undecided.
  absl::StatusOr<v1::StepResponse> Step(const std::string& job_id, int rank, int64_t step,
                                        int64_t look_ahead);
  absl::StatusOr<v1::ReportMetricResponse> ReportMetric(const v1::ReportMetricRequest& request);
  absl::StatusOr<v1::SetLearningRateResponse> SetLearningRate(
      const v1::SetLearningRateRequest& request);
  absl::StatusOr<v1::PreviewScheduleResponse> PreviewSchedule(
      const v1::PreviewScheduleRequest& request);

  // Adds what every call of this client carries (the token) to a context
  // of the caller's own, for calls through stub().
  void Prepare(grpc::ClientContext* context) const;

  // The generated stub, for what the methods above do not cover.
  v1::SchedulerService::Stub& stub() { return *stub_; }
  // The channel, e.g. for its state or the service config gRPC applied.
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const ClientOptions& options() const { return options_; }

 private:
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (v1::SchedulerService::Stub::*method)(grpc::ClientContext*, const Request&,
                                                          Response*),
      const Request& request, absl::Duration timeout, bool idempotent);

  const ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::SchedulerService::Stub> stub_;
};

// gRPC's service config for `options`: the retry policy of every
// lrsched.v1.SchedulerService method.
std::string ServiceConfigJson(const ClientOptions& options);

}  // namespace lrsched

#endif  // LRSCHED_CLIENT_CLIENT_H_
