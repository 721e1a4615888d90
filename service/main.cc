// lrsched-server: flags (each also from an LRSCHED_* environment variable) to
// ServerOptions; SIGTERM, SIGINT or SIGQUIT to a graceful shutdown (SIGHUP,
// SIGUSR1 and SIGUSR2 are logged and ignored).
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/exposer.h"
#include "service/common/command_line.h"
#include "service/server/access_control.h"
#include "service/server/http_gateway.h"
#include "service/server/replica.h"
#include "service/server/server.h"
#include "service/server/store_address.h"
#include "service/server/transport_security.h"
#include "service/server/server_log.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051",
          "host:port to serve gRPC on (port 0 picks a free port); plaintext unless "
          "--tls_cert_file. Env LRSCHED_LISTEN.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain of the server: serve TLS (with --tls_key_file). Read again when "
          "it changes (a renewed certificate is served without a restart). Env "
          "LRSCHED_TLS_CERT_FILE.");
ABSL_FLAG(std::string, tls_key_file, "",
          "PEM private key of --tls_cert_file. Env LRSCHED_TLS_KEY_FILE.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA certificates: require every client to present a certificate they sign "
          "(mutual TLS). Read again when it changes. Env LRSCHED_TLS_CLIENT_CA_FILE.");
ABSL_FLAG(absl::Duration, tls_refresh_interval, absl::Minutes(1),
          "How often the TLS files are read again (whole seconds). Env "
          "LRSCHED_TLS_REFRESH_INTERVAL.");
ABSL_FLAG(std::string, tls_replica_ca_file, "",
          "With TLS and an etcd store: PEM CA certificates that sign the replicas' certificates, "
          "to verify the leader's when a standby forwards a call to it (the standby presents "
          "its own --tls_cert_file). Default: --tls_client_ca_file. Env "
          "LRSCHED_TLS_REPLICA_CA_FILE.");
ABSL_FLAG(std::string, tls_replica_server_name, "",
          "With TLS and an etcd store: the name verified in the leader's certificate (e.g. the "
          "Service's DNS name); empty: the host of its --advertise address. Env "
          "LRSCHED_TLS_REPLICA_SERVER_NAME.");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "YAML file of the callers: each with a bearer token (or its SHA-256) or a client "
          "certificate name, a role (worker, viewer, operator) and an optional job-id prefix; "
          "read again when it changes. Empty: no authentication, anyone who reaches the port "
          "may do anything. Env LRSCHED_AUTH_TOKENS_FILE.");
ABSL_FLAG(std::string, health_listen, "",
          "host:port of a plaintext port that serves only grpc.health.v1.Health, for probes "
          "that speak no TLS (the kubelet's); off when empty. Env LRSCHED_HEALTH_LISTEN.");
ABSL_FLAG(std::string, state, "lrsched-state.db",
          "The SQLite file that keeps every job; ':memory:' keeps nothing. Created only when "
          "neither it nor its write-ahead log (STATE-wal) exists; an empty (0-byte) file or a "
          "STATE-wal without it is refused. One server per file: a second one is refused, naming "
          "the pid in STATE.lock. Copy it while the server runs with lrsched-backup, not cp. Env "
          "LRSCHED_STATE.");
ABSL_FLAG(std::string, store, "",
          "Where the jobs are kept: sqlite:PATH (the same as --state=PATH) or "
          "etcd://HOST:PORT[,HOST:PORT...][/PREFIX], an etcd v3 cluster (keys under /PREFIX/, "
          "/lrsched/ by default; plaintext, without auth). Empty: --state. Env LRSCHED_STORE.");
ABSL_FLAG(absl::Duration, etcd_call_timeout, absl::Seconds(2),
          "With an etcd store: how long one call to a member may take before it is sent to the "
          "next. Env LRSCHED_ETCD_CALL_TIMEOUT.");
ABSL_FLAG(absl::Duration, etcd_give_up_after, absl::Seconds(15),
          "With an etcd store: how long a write is sent again before the calls waiting on it get "
          "UNAVAILABLE (its outcome then unknown). Env LRSCHED_ETCD_GIVE_UP_AFTER.");
ABSL_FLAG(std::string, advertise, "",
          "With an etcd store: HOST:PORT at which the other replicas reach this one (in "
          "Kubernetes the pod's IP and port). Empty: --listen's host (this machine's name when it "
          "is 0.0.0.0) and the port. Env LRSCHED_ADVERTISE.");
ABSL_FLAG(absl::Duration, lease_ttl, absl::Seconds(5),
          "With an etcd store: the lease of the replica that leads. When it dies, another "
          "takes over after at most this long (whole seconds, at least 2s). Env "
          "LRSCHED_LEASE_TTL.");
ABSL_FLAG(std::string, sync, "full",
          "full: an acknowledged change survives a power loss (an fsync per group commit); "
          "normal: it survives a crash of the server but maybe not of the machine, for more "
          "speed. Env LRSCHED_SYNC.");
ABSL_FLAG(int64_t, max_jobs, 100000, "Most jobs the server holds. Env LRSCHED_MAX_JOBS.");
ABSL_FLAG(int64_t, max_receive_message_bytes, 4 << 20,
          "The largest request the server reads; larger ones are RESOURCE_EXHAUSTED before "
          "they are parsed. Env LRSCHED_MAX_RECEIVE_MESSAGE_BYTES.");
ABSL_FLAG(int64_t, max_concurrent_streams, 10000,
          "Calls in flight on one connection (HTTP/2); a client queues the ones past it. Env "
          "LRSCHED_MAX_CONCURRENT_STREAMS.");
ABSL_FLAG(int64_t, max_watch_streams_per_caller, 100,
          "WatchJob streams one caller (a name of --auth_tokens_file, else a client host) may "
          "have open; more are RESOURCE_EXHAUSTED. 0: no limit. Env "
          "LRSCHED_MAX_WATCH_STREAMS_PER_CALLER.");
ABSL_FLAG(int64_t, max_jobs_per_caller, 10000,
          "Jobs a caller of --auth_tokens_file with a job_prefix may hold under it; CreateJob "
          "past it is RESOURCE_EXHAUSTED. 0: no limit. Env LRSCHED_MAX_JOBS_PER_CALLER.");
ABSL_FLAG(int64_t, memory_budget, 0,
          "Bytes that jobs (each for its largest size: its full history window) and previews "
          "in flight may take together; beyond it CreateJob and PreviewSchedule are "
          "RESOURCE_EXHAUSTED. 0: half the container's memory limit (or of the machine's "
          "memory). Env LRSCHED_MEMORY_BUDGET.");
ABSL_FLAG(int64_t, max_answer_bytes, int64_t{64} << 20,
          "Largest PreviewSchedule answer the server builds; longer previews are "
          "RESOURCE_EXHAUSTED before any work. Env LRSCHED_MAX_ANSWER_BYTES.");
ABSL_FLAG(int64_t, history_window, 10000,
          "Steps of learning rates and metric history kept per job; older steps are "
          "OUT_OF_RANGE. Env LRSCHED_HISTORY_WINDOW.");
ABSL_FLAG(int64_t, handed_out_chunk, 1000,
          "Steps by which a job's handed-out watermark is raised at a time; an override takes "
          "effect after it. Env LRSCHED_HANDED_OUT_CHUNK.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(5),
          "On SIGTERM, how long calls in flight get to finish. Env LRSCHED_DRAIN_TIMEOUT.");
ABSL_FLAG(std::string, log_level, "info",
          "info: log start-up, shutdown and each job's significant events (created, deleted, "
          "learning rate reduced, override, world size); error: only failures. Env "
          "LRSCHED_LOG_LEVEL.");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port of a Prometheus text endpoint (/metrics) on HTTP; off when empty. Env "
          "LRSCHED_METRICS_LISTEN.");
ABSL_FLAG(std::string, http_listen, "",
          "host:port of the web page and its JSON API on HTTP/1.1 (port 0 picks a free one): POST "
          "/api/v1/RPC with the request in proto3 JSON, WatchJob as Server-Sent Events; each call "
          "made to the gRPC port with the same checks (an Authorization: Bearer TOKEN header "
          "is the call's token). Plaintext; off when empty. Env LRSCHED_HTTP_LISTEN.");
ABSL_FLAG(int64_t, http_max_event_streams, 32,
          "WatchJob streams (Server-Sent Events) the HTTP port serves at once, each on a thread "
          "of its own; more are refused (429). Env LRSCHED_HTTP_MAX_EVENT_STREAMS.");
ABSL_FLAG(bool, metrics_per_job, false,
          "Also export each job's learning rate (a series per job and parameter group; for small "
          "installations). Env LRSCHED_METRICS_PER_JOB.");
ABSL_FLAG(std::string, log_format, "text",
          "text: TIME LEVEL EVENT key=value...; json: one JSON object per line. On stderr. Env "
          "LRSCHED_LOG_FORMAT.");

namespace {

// Environment variables are defaults that the command line overrides.
bool ApplyEnvironment() {
  for (const char* name :
       {"listen", "tls_cert_file", "tls_key_file", "tls_client_ca_file", "tls_refresh_interval",
        "tls_replica_ca_file", "tls_replica_server_name",
        "auth_tokens_file", "health_listen", "state", "store", "etcd_call_timeout",
        "etcd_give_up_after", "advertise", "lease_ttl", "sync", "max_jobs",
        "max_receive_message_bytes", "max_concurrent_streams", "max_watch_streams_per_caller",
        "max_jobs_per_caller", "memory_budget", "max_answer_bytes", "history_window",
        "handed_out_chunk", "drain_timeout", "log_level", "metrics_listen", "metrics_per_job",
        "log_format", "http_listen", "http_max_event_streams"}) {
    const std::string variable = absl::StrCat("LRSCHED_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!absl::FindCommandLineFlag(name)->ParseFrom(value, &error)) {
      std::fprintf(stderr, "lrsched-server: %s=%s: %s\n", variable.c_str(), value, error.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // Blocked before any thread starts (the log's writer, gRPC's), so that
  // every thread inherits the mask and only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}) {
    sigaddset(&signals, signal);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (lrsched::HandledHelp(argc, argv,
                           "lrsched-server: the learning-rate scheduler service.\n\n"
                           "  lrsched-server [--listen=HOST:PORT] [--state=FILE] [FLAGS]\n\n"
                           "Each flag can also be set by LRSCHED_<FLAG IN CAPITALS> in the "
                           "environment; a flag given wins.",
                           "service/main.cc")) {
    return 0;
  }
  if (!ApplyEnvironment()) return 2;
  absl::ParseCommandLine(argc, argv);
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock
  // detection on: a process-wide graph, behind one global lock, updated at
  // every lock and every mutex's destruction, gRPC's own included. About 9%
  // of the server's CPU under a Step load. The tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const bool verbose = absl::GetFlag(FLAGS_log_level) != "error";
  const std::string log_format = absl::GetFlag(FLAGS_log_format);
  if (log_format != "text" && log_format != "json") {
    std::fprintf(stderr, "lrsched-server: --log_format must be text or json, got %s\n",
                 log_format.c_str());
    return 2;
  }
  lrsched::ServerLog log(log_format == "json" ? lrsched::LogFormat::kJson
                                              : lrsched::LogFormat::kText,
                         !verbose);

  lrsched::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  lrsched::TlsFiles tls;
  tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  tls.refresh_interval = absl::GetFlag(FLAGS_tls_refresh_interval);
  auto credentials = lrsched::ServerCredentialsFor(tls);
  if (!credentials.ok()) {
    std::fprintf(stderr, "lrsched-server: %s\n", std::string(credentials.status().message()).c_str());
    return 2;
  }
  options.credentials = *credentials;
  options.health_listen = absl::GetFlag(FLAGS_health_listen);
  const std::string auth_tokens_file = absl::GetFlag(FLAGS_auth_tokens_file);
  if (!auth_tokens_file.empty()) {
    auto access = lrsched::AccessControl::Open(
        auth_tokens_file, absl::Seconds(1),
        [&log, auth_tokens_file](const absl::StatusOr<size_t>& callers) {
          if (callers.ok()) {
            log.Info("auth_tokens_read", lrsched::LogLine()
                                             .Add("file", auth_tokens_file)
                                             .Add("callers", static_cast<int64_t>(*callers)));
          } else {
            log.Error("auth_tokens_refused",
                      lrsched::LogLine()
                          .Add("file", auth_tokens_file)
                          .Add("error", std::string(callers.status().message()))
                          .Add("kept", "the callers read before"));
          }
        });
    if (!access.ok()) {
      std::fprintf(stderr, "lrsched-server: %s\n", std::string(access.status().message()).c_str());
      return 2;
    }
    options.access_control = *std::move(access);
  }
  options.state = absl::GetFlag(FLAGS_state);
  options.store_address = absl::GetFlag(FLAGS_store);
  if (!options.store_address.empty() &&
      absl::FindCommandLineFlag("state")->CurrentValue() !=
          absl::FindCommandLineFlag("state")->DefaultValue()) {
    std::fprintf(stderr, "lrsched-server: give --store or --state, not both\n");
    return 2;
  }
  if (options.store_address.empty()) options.store_address = "sqlite:" + options.state;
  options.etcd.call_timeout = absl::GetFlag(FLAGS_etcd_call_timeout);
  options.etcd.give_up_after = absl::GetFlag(FLAGS_etcd_give_up_after);
  const std::string sync = absl::GetFlag(FLAGS_sync);
  if (sync != "full" && sync != "normal") {
    std::fprintf(stderr, "lrsched-server: --sync must be full or normal, got %s\n", sync.c_str());
    return 2;
  }
  options.store.full_sync = sync == "full";
  options.max_jobs = static_cast<size_t>(std::max<int64_t>(absl::GetFlag(FLAGS_max_jobs), 0));
  options.max_answer_bytes = std::max<int64_t>(absl::GetFlag(FLAGS_max_answer_bytes), 1024);
  options.max_receive_message_bytes = static_cast<int>(
      std::clamp<int64_t>(absl::GetFlag(FLAGS_max_receive_message_bytes), 1024, INT32_MAX));
  options.max_concurrent_streams = static_cast<int>(
      std::clamp<int64_t>(absl::GetFlag(FLAGS_max_concurrent_streams), 1, INT32_MAX));
  options.max_watch_streams_per_caller =
      std::max<int64_t>(absl::GetFlag(FLAGS_max_watch_streams_per_caller), 0);
  options.max_jobs_per_caller = std::max<int64_t>(absl::GetFlag(FLAGS_max_jobs_per_caller), 0);
  options.memory_budget = std::max<int64_t>(absl::GetFlag(FLAGS_memory_budget), 0);
  options.job.history_window = std::max<int64_t>(absl::GetFlag(FLAGS_history_window), 1);
  options.job.handed_out_chunk = std::max<int64_t>(absl::GetFlag(FLAGS_handed_out_chunk), 1);
  options.job.observer = &log;
  const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.metrics = !metrics_listen.empty();
  options.metrics_per_job = absl::GetFlag(FLAGS_metrics_per_job);

  // With etcd, the server is one replica of several that may share the
  // store: it serves while it leads, and forwards to the leader otherwise.
  auto address = lrsched::ParseStoreAddress(options.store_address);
  if (!address.ok()) {
    std::fprintf(stderr, "lrsched-server: %s\n", address.status().ToString().c_str());
    return 2;
  }
  const bool replicated = address->kind == lrsched::StoreAddress::Kind::kEtcd;
  std::shared_ptr<grpc::ChannelCredentials> forward_credentials;
  if (replicated && tls.enabled()) {
    const std::string replica_ca = absl::GetFlag(FLAGS_tls_replica_ca_file).empty()
                                       ? tls.client_ca_file
                                       : absl::GetFlag(FLAGS_tls_replica_ca_file);
    auto replica_credentials = lrsched::ReplicaChannelCredentials(tls, replica_ca);
    if (!replica_credentials.ok()) {
      std::fprintf(stderr, "lrsched-server: %s\n",
                   std::string(replica_credentials.status().message()).c_str());
      return 2;
    }
    forward_credentials = *std::move(replica_credentials);
  }
  const absl::Duration lease_ttl = absl::GetFlag(FLAGS_lease_ttl);
  if (replicated &&
      (lease_ttl < absl::Seconds(2) || lease_ttl != absl::Trunc(lease_ttl, absl::Seconds(1)))) {
    std::fprintf(stderr, "lrsched-server: --lease_ttl must be whole seconds, at least 2s, got %s\n",
                 absl::FormatDuration(lease_ttl).c_str());
    return 2;
  }
  std::unique_ptr<lrsched::Server> server;
  std::unique_ptr<lrsched::Replica> replica;
  absl::Status started;
  if (replicated) {
    lrsched::ReplicaOptions replica_options;
    replica_options.server = options;
    replica_options.store = options.etcd;
    replica_options.store.endpoints = address->etcd.endpoints;
    replica_options.store.prefix = address->etcd.prefix;
    replica_options.advertise = absl::GetFlag(FLAGS_advertise);
    replica_options.lease_ttl = lease_ttl;
    replica_options.forward_credentials = forward_credentials;
    replica_options.forward_server_name = absl::GetFlag(FLAGS_tls_replica_server_name);
    auto running = lrsched::Replica::Start(replica_options, &log);
    started = running.status();
    if (running.ok()) replica = *std::move(running);
  } else {
    auto running = lrsched::Server::Start(options);
    started = running.status();
    if (running.ok()) server = *std::move(running);
  }
  if (!started.ok()) {
    log.Error("server_failed", lrsched::LogLine().Add("error", started.ToString()));
    log.Flush();
    std::fprintf(stderr, "lrsched-server: %s\n", started.ToString().c_str());
    return 1;
  }
  const int port = replicated ? replica->port() : server->port();
  const std::string store = replicated ? options.store_address : server->store_address();
  if (replicated) {
    std::printf("lrsched-server listening on %s (port %d); store=%s replica=%s lease_ttl=%s; "
                "max_jobs=%zu history_window=%lld handed_out_chunk=%lld drain_timeout=%s\n",
                options.listen.c_str(), port, store.c_str(), replica->advertise().c_str(),
                absl::FormatDuration(lease_ttl).c_str(), options.max_jobs,
                static_cast<long long>(options.job.history_window),
                static_cast<long long>(options.job.handed_out_chunk),
                absl::FormatDuration(absl::GetFlag(FLAGS_drain_timeout)).c_str());
  } else {
    std::printf("lrsched-server listening on %s (port %d); store=%s sync=%s (%zu jobs recovered "
                "in %s); max_jobs=%zu history_window=%lld handed_out_chunk=%lld drain_timeout=%s\n",
                options.listen.c_str(), port, store.c_str(), sync.c_str(), server->recovered_jobs(),
                absl::FormatDuration(server->recovery_time()).c_str(), options.max_jobs,
                static_cast<long long>(options.job.history_window),
                static_cast<long long>(options.job.handed_out_chunk),
                absl::FormatDuration(absl::GetFlag(FLAGS_drain_timeout)).c_str());
  }
  std::fflush(stdout);
  // Serves GET /metrics from threads of its own; prometheus-cpp formats what
  // the server's metrics collect.
  std::unique_ptr<prometheus::Exposer> exposer;
  if (options.metrics) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(metrics_listen);
    } catch (const std::exception& error) {
      log.Error("server_failed", lrsched::LogLine().Add("error", absl::StrCat(
                                     "--metrics_listen=", metrics_listen, ": ", error.what())));
      log.Flush();
      std::fprintf(stderr, "lrsched-server: --metrics_listen=%s: %s\n", metrics_listen.c_str(),
                   error.what());
      return 1;
    }
    exposer->RegisterCollectable(replicated ? replica->metrics() : server->metrics());
  }
  // The web page and the JSON API: a gRPC client of this server's own
  // service, so that every rule is the gRPC port's; in the process where
  // there is one server, else through the port (a replica's server changes
  // with its role), with TLS as a standby reaches the leader. That channel
  // presents the replica's own client certificate, so the page's calls must
  // then name their caller with a token wherever callers are checked.
  std::unique_ptr<lrsched::HttpGateway> gateway;
  const std::string http_listen = absl::GetFlag(FLAGS_http_listen);
  if (!http_listen.empty()) {
    absl::Status http_started;
    if (!tls.client_ca_file.empty() && absl::GetFlag(FLAGS_auth_tokens_file).empty()) {
      http_started = absl::FailedPreconditionError(
          "--http_listen with --tls_client_ca_file needs --auth_tokens_file: the gRPC port "
          "admits only callers with a client certificate, and a page's callers have none, so "
          "they must come with a token");
    } else {
      lrsched::HttpGatewayOptions http_options;
      http_options.listen = http_listen;
      http_options.max_event_streams = static_cast<int>(
          std::clamp<int64_t>(absl::GetFlag(FLAGS_http_max_event_streams), 1, 10000));
      http_options.require_token =
          replicated && tls.enabled() && !absl::GetFlag(FLAGS_auth_tokens_file).empty();
      // The name the certificate is checked for: as the other replicas
      // check it when they dial this one.
      std::string server_name = absl::GetFlag(FLAGS_tls_replica_server_name);
      if (replicated && server_name.empty()) {
        absl::string_view host = replica->advertise();
        host = host.substr(0, host.rfind(':'));
        server_name = std::string(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
      }
      auto running = lrsched::HttpGateway::Start(
          http_options,
          replicated ? lrsched::HttpGateway::LocalChannel(options.listen, port,
                                                          forward_credentials, server_name)
                     : lrsched::HttpGateway::ChannelSource(
                           [&server] { return server->InProcessChannel(); }));
      http_started = running.status();
      if (running.ok()) gateway = *std::move(running);
    }
    if (!http_started.ok()) {
      log.Error("server_failed", lrsched::LogLine().Add("error", http_started.ToString()));
      log.Flush();
      std::fprintf(stderr, "lrsched-server: %s\n", std::string(http_started.message()).c_str());
      return 1;
    }
    std::printf("lrsched-server serving the web page on %s (http port %d)\n", http_listen.c_str(),
                gateway->port());
    std::fflush(stdout);
  }
  lrsched::LogLine started_line;
  started_line.Add("listen", options.listen).Add("port", int64_t{port}).Add("store", store);
  started_line.Add("transport", !tls.enabled()                ? "plaintext"
                                : tls.client_ca_file.empty() ? "tls"
                                                             : "mutual-tls");
  if (!options.health_listen.empty()) {
    started_line.Add("health_listen", options.health_listen)
        .Add("health_port",
             int64_t{replicated ? replica->health_port() : server->health_port()});
  }
  if (replicated) {
    started_line.Add("replica", replica->advertise())
        .Add("lease_ttl", absl::FormatDuration(lease_ttl));
  } else {
    started_line.Add("sync", sync)
        .Add("recovered_jobs", static_cast<int64_t>(server->recovered_jobs()))
        .Add("recovery_seconds", absl::ToDoubleSeconds(server->recovery_time()))
        .Add("memory_budget", server->memory_budget().limit())
        .Add("memory_charged", server->memory_budget().charged());
  }
  started_line.Add("max_jobs", static_cast<int64_t>(options.max_jobs))
      .Add("history_window", options.job.history_window)
      .Add("handed_out_chunk", options.job.handed_out_chunk)
      .Add("drain_timeout", absl::FormatDuration(absl::GetFlag(FLAGS_drain_timeout)))
      .Add("log_level", absl::GetFlag(FLAGS_log_level))
      .Add("log_format", log_format)
      .Add("metrics_listen", metrics_listen);
  if (gateway != nullptr) {
    started_line.Add("http_listen", http_listen).Add("http_port", int64_t{gateway->port()});
  }
  log.Info("server_started", started_line);
  if (options.access_control != nullptr && !tls.enabled()) {
    log.Warning("tokens_over_plaintext",
                lrsched::LogLine().Add(
                    "warning",
                    "--auth_tokens_file without --tls_cert_file: callers' tokens cross the "
                    "network in the clear, for anyone on the path to read and reuse"));
  }
  if (options.access_control == nullptr) {
    log.Warning("auth_disabled",
                lrsched::LogLine().Add(
                    "warning",
                    "no --auth_tokens_file: anyone who can reach the port may create, change, "
                    "read and delete every job"));
  }

  // SIGHUP, SIGUSR1 and SIGUSR2 would end the process by default; there is
  // nothing to reload, so they are logged and ignored. SIGQUIT drains too:
  // a core dump helps nobody when every trainer waits on this server.
  int signal = 0;
  while (sigwait(&signals, &signal) == 0 &&
         (signal == SIGHUP || signal == SIGUSR1 || signal == SIGUSR2)) {
    log.Info("signal_ignored", lrsched::LogLine().Add("signal", strsignal(signal)));
  }
  log.Info("server_stopping",
           lrsched::LogLine()
               .Add("signal", strsignal(signal))
               .Add("drain_timeout", absl::FormatDuration(absl::GetFlag(FLAGS_drain_timeout))));
  // The page's calls first: a page is not a trainer riding out a restart.
  if (gateway != nullptr) gateway->Shutdown();
  // The drain closes every job: one summary line below, not one per job.
  log.StartShutdown(lrsched::ShuttingDownError());
  if (replicated) {
    replica->Shutdown(absl::GetFlag(FLAGS_drain_timeout));
    log.Info("server_stopped", lrsched::LogLine().Add("replica", replica->advertise()));
    return 0;
  }
  server->Shutdown(absl::GetFlag(FLAGS_drain_timeout));
  server->Wait();
  const lrsched::Server::DrainStats drained = server->drain_stats();
  log.Info("server_stopped",
           lrsched::LogLine()
               .Add("jobs_closed", drained.jobs_closed)
               .Add("steps_ended", drained.steps_ended)
               .Add("calls_ended", drained.calls_ended)
               .Add("drain_seconds", absl::ToDoubleSeconds(drained.duration)));
  return 0;
}
