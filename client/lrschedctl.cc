// lrschedctl: lrsched from the command line, one subcommand per API call.
//
//   lrschedctl [--server=HOST:PORT] [--output=table|json] SUBCOMMAND [ARGS] [FLAGS]
//
// Exit codes: 0 done; 1 the server refused (the status is printed); 2 the
// command line is wrong (checked before anything is sent); 3 the server
// could not be reached in time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/ctl_text.h"
#include "client/grpc_status.h"
#include "client/job_figure.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "lrsched/client.h"
#include "proto/status_conversion.h"
#include "service/common/command_line.h"
#include "service/common/shortest_double.h"
#include "yaml-cpp/yaml.h"

ABSL_FLAG(std::string, server, "",
          "The lrsched server, host:port (default: $LRSCHED_SERVER, else localhost:50051).");
ABSL_FLAG(std::string, output, "table",
          "table: for people; json: the API's proto3 JSON with the proto field names (as in "
          "proto/, and as requests are written), for jq.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "How long to keep trying a server that does not answer.");
ABSL_FLAG(bool, tls, false, "Connect with TLS (the system's roots unless --tls_ca_file).");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM roots to verify the server with (implies --tls). Env LRSCHED_TLS_CA_FILE.");
ABSL_FLAG(std::string, tls_server_name, "",
          "The name to verify in the server's certificate. Env LRSCHED_TLS_SERVER_NAME.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate of this client, for a server that requires mutual TLS (implies --tls). "
          "Env LRSCHED_TLS_CERT_FILE.");
ABSL_FLAG(std::string, tls_key_file, "",
          "PEM private key of --tls_cert_file. Env LRSCHED_TLS_KEY_FILE.");
ABSL_FLAG(std::string, token_file, "",
          "A file holding the bearer token to call a server with --auth_tokens_file. Env "
          "LRSCHED_TOKEN_FILE.");
// create, preview
ABSL_FLAG(std::string, spec, "",
          "The SchedulerSpec in JSON, e.g. {\"step_lr\": {\"step_size\": 30}}.");
ABSL_FLAG(std::string, file, "",
          "create: a CreateJobRequest in the API's JSON form, as JSON or YAML (.yaml, .yml); "
          "flags given override it.");
ABSL_FLAG(std::vector<std::string>, base_lrs, {},
          "The base learning rate of each parameter group (default 0.1: one group).");
ABSL_FLAG(int32_t, world_size, 1, "create: workers in the job, 1 to 65536.");
ABSL_FLAG(std::string, aggregation, "WEIGHTED_MEAN",
          "create: MEAN, WEIGHTED_MEAN, MIN or MAX of the workers' metrics.");
ABSL_FLAG(int64_t, max_look_ahead, 0,
          "create: how many steps past the one a worker asks for may be handed out (1 to "
          "100000; 0: the server's default, 1000). Smaller: an override takes effect sooner; "
          "larger: fewer Step calls.");
ABSL_FLAG(int64_t, steps, 0,
          "preview: step() calls after the first values (prints steps 0 to N; default 100); "
          "plot: draw steps 0 to N-1 (default: up to the furthest step a worker asked for).");
ABSL_FLAG(std::vector<std::string>, metrics, {},
          "preview: the metric of each step, for ReduceLROnPlateau.");
// set-lr
ABSL_FLAG(std::vector<std::string>, lr, {},
          "set-lr: the new learning rate of each parameter group.");
ABSL_FLAG(double, factor, 1, "set-lr: multiply the learning rates in force by this instead.");
ABSL_FLAG(bool, scale_schedule, false,
          "set-lr: with --factor, scale the whole rest of the schedule.");
ABSL_FLAG(int64_t, step, 0, "set-lr: the first step it applies to (default: the next one free).");
// preview, plot
ABSL_FLAG(std::string, plot, "", "preview: also write the schedule as an SVG picture here.");
ABSL_FLAG(std::string, out, "", "plot: the SVG file to write (default JOB.svg).");
ABSL_FLAG(bool, log_scale, false, "preview, plot: the learning rate on a log scale.");
ABSL_FLAG(std::string, epoch_log, "",
          "plot: lrsched-trainer's --log_csv of the job, for its training loss per epoch.");
// list, watch
ABSL_FLAG(int32_t, page_size, 100, "list: jobs per answer, 1 to 1000 (all pages are shown).");
ABSL_FLAG(int64_t, from, 1, "watch: the first event sequence to show.");

namespace lrsched::ctl {
namespace {

constexpr int kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3;
// The largest step lrsched serves: a schedule without an end decides
// every step up to it.
constexpr int64_t kEndless = (int64_t{1} << 53) - 1;

// The flags given on the command line (ParseFlags).
std::set<std::string> given_flags;
bool Given(const char* flag) { return given_flags.count(flag) > 0; }

// The subcommand running, for the usage hint of a command-line mistake.
const char* subcommand_name = "";
// The server's address, and whether it is dialled with TLS, for the message
// when it cannot be reached.
std::string server_target;
bool dialled_with_tls = false;

int Misuse(const std::string& message) {
  std::fprintf(stderr, "lrschedctl: %s\n(lrschedctl %s --help for its usage)\n", message.c_str(),
               subcommand_name);
  return kUsage;
}
int Misuse(const absl::Status& status) { return Misuse(std::string(status.message())); }

// Why nothing answers at `target` (host:port): the name does not resolve,
// nothing listens, or no answer, as a TCP connection attempt finds it.
// Empty when a connection opens (or the target is not host:port).
std::string WhyUnreachable(const std::string& target) {
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos || absl::StrContains(target, "://") ||
      absl::StartsWith(target, "unix:")) {
    return "";
  }
  std::string host = target.substr(0, colon);
  const std::string port = target.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  if (const int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &addresses); error != 0) {
    return absl::StrCat("the name ", host, " does not resolve (", gai_strerror(error), ")");
  }
  std::string why;
  for (const addrinfo* address = addresses; address != nullptr; address = address->ai_next) {
    const int fd = socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int error = 0;
    if (connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        pollfd wait{fd, POLLOUT, 0};
        if (poll(&wait, 1, 3000) == 1) {
          socklen_t size = sizeof error;
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
        } else {
          error = ETIMEDOUT;
        }
      }
    }
    close(fd);
    if (error == 0) {
      why.clear();
      break;
    }
    why = error == ECONNREFUSED ? "nothing listens there (connection refused)"
          : error == ETIMEDOUT  ? "nothing answers there (connection timed out)"
                                : absl::StrCat("cannot connect (", std::strerror(error), ")");
  }
  freeaddrinfo(addresses);
  return why;
}

// A server's refusal (exit 1), or a server that could not be reached (3).
int Fail(const std::string& rpc, const absl::Status& status) {
  const bool unreachable = status.code() == absl::StatusCode::kUnavailable ||
                           status.code() == absl::StatusCode::kDeadlineExceeded;
  if (unreachable) {
    const std::string why = WhyUnreachable(server_target);
    if (!why.empty()) {
      std::fprintf(stderr,
                   "lrschedctl: cannot reach the lrsched server at %s: %s.\n"
                   "(--server or LRSCHED_SERVER names the server; tried for --timeout=%s)\n",
                   server_target.c_str(), why.c_str(),
                   absl::FormatDuration(absl::GetFlag(FLAGS_timeout)).c_str());
      return kUnreachable;
    }
    // Something listens, and does not speak gRPC as dialled: most often TLS
    // on one end only, or a certificate that does not verify.
    std::fprintf(
        stderr, "lrschedctl: the server at %s did not answer %s within --timeout=%s (%s).\n%s\n",
        server_target.c_str(), rpc.c_str(),
        absl::FormatDuration(absl::GetFlag(FLAGS_timeout)).c_str(),
        absl::StatusCodeToString(status.code()).c_str(),
        dialled_with_tls
            ? "A connection opens there, but not a TLS session this client trusts: is the "
              "server's certificate signed by --tls_ca_file's CA, for the name dialled (or "
              "--tls_server_name)? A plaintext server is dialled without --tls and "
              "--tls_ca_file."
            : "A connection opens there, but nothing answers gRPC in plaintext: if the server "
              "serves TLS, give --tls_ca_file (or --tls for a certificate the system trusts).");
    return kUnreachable;
  }
  std::fprintf(stderr, "lrschedctl: %s (%s from %s)\n", std::string(status.message()).c_str(),
               absl::StatusCodeToString(status.code()).c_str(), rpc.c_str());
  return kRefused;
}

bool Json() { return absl::GetFlag(FLAGS_output) == "json"; }

// As grpcurl prints a message: the proto field names, defaults left out.
std::string ToJson(const google::protobuf::Message& message, bool multiline) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = multiline;
  options.preserve_proto_field_names = true;
  google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!multiline && !json.empty() && json.back() == '\n') json.pop_back();
  return json;
}
void PrintJson(const google::protobuf::Message& message) {
  std::printf("%s", ToJson(message, /*multiline=*/true).c_str());
}

// A YAML document as JSON text: mappings, sequences, and scalars as JSON
// numbers, booleans or strings, so that a YAML file can say what the API's
// JSON form says.
void YamlToJson(const YAML::Node& node, std::string* json) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      *json += "{";
      bool first = true;
      for (const auto& entry : node) {
        if (!first) *json += ",";
        first = false;
        YamlToJson(entry.first, json);
        *json += ":";
        YamlToJson(entry.second, json);
      }
      *json += "}";
      return;
    }
    case YAML::NodeType::Sequence: {
      *json += "[";
      for (size_t i = 0; i < node.size(); ++i) {
        if (i > 0) *json += ",";
        YamlToJson(node[i], json);
      }
      *json += "]";
      return;
    }
    case YAML::NodeType::Scalar: {
      const std::string text = node.Scalar();
      double number;
      if (node.Tag() != "!" && (text == "true" || text == "false")) {
        *json += text;
      } else if (node.Tag() != "!" && absl::SimpleAtod(text, &number) && std::isfinite(number)) {
        *json += text;
      } else {
        std::string quoted;
        google::protobuf::util::JsonPrintOptions options;
        google::protobuf::Value value;
        value.set_string_value(text);
        google::protobuf::util::MessageToJsonString(value, &quoted, options);
        *json += quoted;
      }
      return;
    }
    default:
      *json += "null";
  }
}

// Command-line mistakes are INVALID_ARGUMENT statuses up to the subcommand,
// which prints them with its usage hint and exits 2.
template <typename Message>
absl::StatusOr<Message> ParseJson(const std::string& flag, const std::string& json) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": not a ",
                                                   Message::descriptor()->full_name(),
                                                   " in JSON: ", status.message().as_string()));
  }
  return message;
}

enum class Rule { kAnyNumber, kRate };

// Numbers of a list flag; with kRate, each finite and at least 0, as the
// server wants a learning rate.
absl::StatusOr<std::vector<double>> ParseDoubles(const std::string& flag,
                                                 const std::vector<std::string>& texts, Rule rule) {
  std::vector<double> values;
  for (const auto& text : texts) {
    double value;
    // A decimal number as a person writes one: not hexadecimal, which
    // absl::SimpleAtod also reads.
    if (!absl::SimpleAtod(text, &value) || absl::StrContains(absl::AsciiStrToLower(text), "x")) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": '", text, "' is not a number"));
    }
    if (rule == Rule::kRate && !(std::isfinite(value) && value >= 0 && !std::signbit(value))) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": '", text, "' is not a learning rate (finite, at least 0)"));
    }
    values.push_back(value);
  }
  return values;
}

absl::Status CheckRange(const char* flag, int64_t value, int64_t low, int64_t high) {
  if (value >= low && value <= high) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("--%s: must be %d to %d, got %d", flag, low, high, value));
}

// Whether `path` can be written (its folder exists and is writable), so
// that a picture is not computed for nothing.
absl::Status CheckWritable(const char* flag, const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot write ", path, ": it is a directory"));
  }
  const size_t slash = path.rfind('/');
  const std::string folder =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (access(folder.c_str(), W_OK) != 0 ||
      (access(path.c_str(), F_OK) == 0 && access(path.c_str(), W_OK) != 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

#define LRSCHEDCTL_ASSIGN(lhs, expression)              \
  auto lhs##_or = (expression);                         \
  if (!lhs##_or.ok()) return Misuse(lhs##_or.status()); \
  auto lhs = *std::move(lhs##_or)
#define LRSCHEDCTL_CHECK(expression) \
  if (absl::Status check = (expression); !check.ok()) return Misuse(check)

std::string Plural(int64_t count, const char* one, const char* many) {
  return absl::StrCat(count, " ", count == 1 ? one : many);
}

// A paragraph for the terminal: lines of at most 80 columns, indented by 2.
std::string Indented(const std::string& paragraph) {
  std::string text, line;
  for (absl::string_view word : absl::StrSplit(paragraph, ' ', absl::SkipEmpty())) {
    if (!line.empty() && line.size() + 1 + word.size() > 78) {
      absl::StrAppend(&text, "  ", line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&text, "  ", line, "\n");
  return text;
}

// Eight levels of block, lowest to highest, scaled between the smallest and
// the largest value (on a log scale when all are positive).
std::string Sparkline(const std::vector<double>& values) {
  static const char* const kBlocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                        "\u2585", "\u2586", "\u2587", "\u2588"};
  if (values.empty()) return "";
  bool positive = true;
  for (double v : values) positive &= v > 0;
  auto scale = [&](double v) { return positive ? std::log(v) : v; };
  double low = scale(values[0]), high = low;
  for (double v : values) {
    low = std::min(low, scale(v));
    high = std::max(high, scale(v));
  }
  std::string line;
  for (double v : values) {
    const int level = high > low ? static_cast<int>((scale(v) - low) / (high - low) * 7 + 0.5) : 3;
    line += kBlocks[std::clamp(level, 0, 7)];
  }
  return line;
}

absl::Status WriteFile(const std::string& flag, const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  file.close();
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Formats rows as columns as wide as their widest cell (the last one left
// as it is), two spaces apart.
std::string Columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t c = 0; c + 1 < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string text;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    absl::StrAppend(&text, line, "\n");
  }
  return text;
}

// "all" for a schedule that decides every step without metrics.
std::string DecidedText(const v1::Job& job) {
  if (job.decided_step() >= job.last_step() || job.decided_step() >= kEndless) return "all";
  return absl::StrCat(job.decided_step());
}

class Ctl {
 public:
  explicit Ctl(Client& client) : client_(client) {}

  int Create(const std::vector<std::string>& args) {
    v1::CreateJobRequest request;
    if (Given("file")) {
      const std::string& path = absl::GetFlag(FLAGS_file);
      std::ifstream file(path);
      if (!file) return Misuse(absl::StrCat("--file: cannot read ", path));
      std::stringstream text;
      text << file.rdbuf();
      std::string json = text.str();
      if (absl::EndsWith(path, ".yaml") || absl::EndsWith(path, ".yml")) {
        json.clear();
        try {
          YamlToJson(YAML::Load(text.str()), &json);
        } catch (const YAML::Exception& error) {
          return Misuse(absl::StrCat("--file: ", path, " is not YAML: ", error.what()));
        }
      }
      LRSCHEDCTL_ASSIGN(from_file, ParseJson<v1::CreateJobRequest>("--file", json));
      request = std::move(from_file);
    }
    if (args.size() > 1) return Misuse("create takes one JOB");
    if (!args.empty()) request.set_job_id(args[0]);
    if (request.job_id().empty()) return Misuse("create: JOB is missing");
    if (Given("spec")) {
      LRSCHEDCTL_ASSIGN(spec, ParseJson<v1::SchedulerSpec>("--spec", absl::GetFlag(FLAGS_spec)));
      *request.mutable_spec() = std::move(spec);
    }
    if (!request.has_spec()) return Misuse("create: --spec (or --file) is missing");
    LRSCHEDCTL_ASSIGN(base_lrs,
                      ParseDoubles("--base_lrs", absl::GetFlag(FLAGS_base_lrs), Rule::kRate));
    if (!base_lrs.empty()) *request.mutable_base_lrs() = {base_lrs.begin(), base_lrs.end()};
    if (Given("base_lrs") && base_lrs.empty()) return Misuse("--base_lrs: no rate given");
    if (request.base_lrs_size() == 0) request.add_base_lrs(0.1);
    if (Given("world_size")) {
      LRSCHEDCTL_CHECK(CheckRange("world_size", absl::GetFlag(FLAGS_world_size), 1, 65'536));
      request.set_world_size(absl::GetFlag(FLAGS_world_size));
    }
    if (Given("aggregation")) {
      v1::Aggregation aggregation;
      if (!v1::Aggregation_Parse(absl::AsciiStrToUpper(absl::GetFlag(FLAGS_aggregation)),
                                 &aggregation) ||
          aggregation == v1::AGGREGATION_UNSPECIFIED) {
        return Misuse(absl::StrCat("--aggregation: MEAN, WEIGHTED_MEAN, MIN or MAX, got '",
                                   absl::GetFlag(FLAGS_aggregation), "'"));
      }
      request.set_aggregation(aggregation);
    }
    if (Given("max_look_ahead")) {
      LRSCHEDCTL_CHECK(
          CheckRange("max_look_ahead", absl::GetFlag(FLAGS_max_look_ahead), 0, 100'000));
      request.set_max_look_ahead(absl::GetFlag(FLAGS_max_look_ahead));
    }
    auto job = client_.CreateJob(request);
    if (!job.ok()) return Fail("CreateJob", job.status());
    if (Json()) {
      PrintJson(*job);
    } else {
      std::printf("job %s created: %s, %s, base learning rates %s\n", job->job_id().c_str(),
                  SchedulerName(job->spec()).c_str(),
                  Plural(job->world_size(), "worker", "workers").c_str(),
                  Rates(job->base_lrs()).c_str());
    }
    return kOk;
  }

  int Get(const std::vector<std::string>& args) {
    if (args.size() != 1) return Misuse("get takes one JOB");
    auto job = client_.GetJob(args[0]);
    if (!job.ok()) return Fail("GetJob", job.status());
    if (Json()) {
      PrintJson(*job);
      return kOk;
    }
    std::printf("job:              %s\n", job->job_id().c_str());
    if (!job->damaged().empty()) {
      // Nothing else of a damaged job is known: its log did not rebuild.
      std::printf("damaged:          %s\n", job->damaged().c_str());
      std::printf(
          "                  (not served; its log is kept as it is; "
          "`lrschedctl delete %s` removes it)\n",
          job->job_id().c_str());
      return kOk;
    }
    std::printf("scheduler:        %s\n", SchedulerName(job->spec()).c_str());
    std::printf("workers:          %d (%s)\n", job->world_size(),
                v1::Aggregation_Name(job->aggregation()).c_str());
    std::printf("created:          %s\n",
                google::protobuf::util::TimeUtil::ToString(job->create_time()).c_str());
    const std::string decided = DecidedText(*job);
    std::printf("decided steps:    %s\n", decided == "all"
                                              ? "all (the schedule takes no metric)"
                                              : absl::StrCat("up to ", decided).c_str());
    if (job->last_step() < kEndless) {
      std::printf("last step:        %lld\n", static_cast<long long>(job->last_step()));
    }
    std::printf("handed out:       %s\n", job->handed_out_step() < 0
                                              ? "none yet"
                                              : absl::StrCat("up to step ", job->handed_out_step(),
                                                             " (an override takes effect after it)")
                                                    .c_str());
    if (job->max_look_ahead() > 0) {
      std::printf("max look-ahead:   %s\n",
                  Plural(job->max_look_ahead(), "step", "steps").c_str());
    }
    if (job->has_latest()) {
      std::printf("learning rates:   %s at step %lld\n", Rates(job->latest().lrs()).c_str(),
                  static_cast<long long>(job->latest().step()));
    } else {
      std::printf("learning rates:   none handed out yet (base %s)\n",
                  Rates(job->base_lrs()).c_str());
    }
    if (job->latest().momentums_size() > 0) {
      std::printf("momentums:        %s\n", Rates(job->latest().momentums()).c_str());
    }
    if (job->worker_steps_size() > 0) {
      std::vector<std::string> steps;
      for (int64_t step : job->worker_steps()) {
        steps.push_back(step < 0 ? "-" : absl::StrCat(step));
      }
      std::printf("workers at step:  %s (by rank: the furthest step asked for or reported)\n",
                  absl::StrJoin(steps, ",").c_str());
    }
    std::printf("waiting Steps:    %d\n", job->waiting_steps());
    std::printf("pending reports:  %d\n", job->pending_reports_size());
    std::printf("overrides:        %d\n", job->overrides_size());
    std::printf("events:           %lld (%lld bytes stored)\n",
                static_cast<long long>(job->event_count()),
                static_cast<long long>(job->stored_bytes()));
    if (!job->served_by().empty()) {
      std::printf("served by:        %s (the replica that leads)\n", job->served_by().c_str());
    }
    if (job->metric_history_size() > 0) {
      int reductions = 0;
      std::vector<double> recent;
      for (const auto& metric : job->metric_history()) reductions += metric.reduced();
      const int from = std::max(0, job->metric_history_size() - 40);
      for (int i = from; i < job->metric_history_size(); ++i) {
        recent.push_back(job->metric_history(i).lrs(0));
      }
      const auto& last = job->metric_history(job->metric_history_size() - 1);
      std::printf("last metric:      %s at step %lld, %s\n", ShortestDouble(last.value()).c_str(),
                  static_cast<long long>(last.step()),
                  Plural(reductions, "reduction", "reductions").c_str());
      std::printf("learning rate:    %s  (last %s)\n", Sparkline(recent).c_str(),
                  Plural(static_cast<int64_t>(recent.size()), "epoch", "epochs").c_str());
    }
    return kOk;
  }

  int List(const std::vector<std::string>& args) {
    if (!args.empty()) return Misuse("list takes no arguments");
    LRSCHEDCTL_CHECK(CheckRange("page_size", absl::GetFlag(FLAGS_page_size), 1, 1000));
    v1::ListJobsResponse all;
    v1::ListJobsRequest request;
    request.set_page_size(absl::GetFlag(FLAGS_page_size));
    do {
      auto page = client_.ListJobs(request);
      if (!page.ok()) return Fail("ListJobs", page.status());
      for (auto& job : *page->mutable_jobs()) *all.add_jobs() = std::move(job);
      request.set_page_token(page->next_page_token());
    } while (!request.page_token().empty());
    if (Json()) {
      PrintJson(all);
      return kOk;
    }
    std::vector<std::vector<std::string>> rows = {
        {"JOB", "SCHEDULER", "WORKERS", "DECIDED", "HANDED OUT", "WAITING", "LEARNING RATES"}};
    for (const auto& job : all.jobs()) {
      if (!job.damaged().empty()) {
        rows.push_back({job.job_id(), "DAMAGED (see get)"});
        continue;
      }
      rows.push_back(
          {job.job_id(), SchedulerName(job.spec()), absl::StrCat(job.world_size()),
           DecidedText(job), job.handed_out_step() < 0 ? "-" : absl::StrCat(job.handed_out_step()),
           absl::StrCat(job.waiting_steps()), job.has_latest() ? Rates(job.latest().lrs()) : "-"});
    }
    std::printf("%s", Columns(rows).c_str());
    return kOk;
  }

  int Delete(const std::vector<std::string>& args) {
    if (args.size() != 1) return Misuse("delete takes one JOB");
    if (auto status = client_.DeleteJob(args[0]); !status.ok()) return Fail("DeleteJob", status);
    if (Json()) {
      PrintJson(v1::DeleteJobResponse());
    } else {
      std::printf("job %s deleted\n", args[0].c_str());
    }
    return kOk;
  }

  int SetLr(const std::vector<std::string>& args) {
    if (args.size() != 1) return Misuse("set-lr takes one JOB");
    LRSCHEDCTL_ASSIGN(lrs, ParseDoubles("--lr", absl::GetFlag(FLAGS_lr), Rule::kRate));
    const double factor = absl::GetFlag(FLAGS_factor);
    if (Given("lr") == Given("factor")) return Misuse("set-lr: give either --lr or --factor");
    if (Given("lr") && lrs.empty()) return Misuse("--lr: no rate given");
    if (Given("factor") && !(std::isfinite(factor) && factor >= 0)) {
      return Misuse(
          absl::StrCat("--factor: must be finite and at least 0, got ", ShortestDouble(factor)));
    }
    if (Given("scale_schedule") && !Given("factor")) {
      return Misuse("set-lr: --scale_schedule goes with --factor");
    }
    if (Given("step")) {
      LRSCHEDCTL_CHECK(CheckRange("step", absl::GetFlag(FLAGS_step), 0, kEndless - 1));
    }
    // The job tells how many groups the rates are for, and where the
    // override can take effect: after the steps already handed out.
    auto job = client_.GetJob(args[0]);
    if (!job.ok()) return Fail("GetJob", job.status());
    const int groups = job->base_lrs_size();
    if (Given("lr") && static_cast<int>(lrs.size()) != groups) {
      return Misuse(absl::StrCat(
          "set-lr: job ", job->job_id(), " has ",
          Plural(groups, "parameter group", "parameter groups"), ": give one rate for each (--lr=",
          absl::StrJoin(std::vector<std::string>(groups, ShortestDouble(lrs[0])), ","),
          "), or --factor to scale them all"));
    }
    v1::SetLearningRateRequest request;
    request.set_job_id(args[0]);
    if (Given("lr")) {
      *request.mutable_lrs()->mutable_values() = {lrs.begin(), lrs.end()};
    } else {
      request.set_factor(factor);
    }
    if (absl::GetFlag(FLAGS_scale_schedule)) request.set_mode(v1::SCALE_SCHEDULE);
    const int64_t first_free = job->handed_out_step() + 1;
    request.set_step(Given("step") ? absl::GetFlag(FLAGS_step) : first_free);
    const int64_t expected = std::max(request.step(), first_free);
    std::vector<std::string> stacked;
    for (const auto& change : job->overrides()) {
      if (change.effective_step() == expected) stacked.push_back(Describe(change));
    }
    if (!stacked.empty() && !Json()) {
      std::fprintf(stderr,
                   "note: step %lld already has %s (%s); overrides of one step apply in the "
                   "order they were made, this one last\n",
                   static_cast<long long>(expected),
                   Plural(static_cast<int64_t>(stacked.size()), "override", "overrides").c_str(),
                   absl::StrJoin(stacked, "; ").c_str());
    }
    auto response = client_.SetLearningRate(request);
    if (!response.ok()) return Fail("SetLearningRate", response.status());
    if (Json()) {
      PrintJson(*response);
      return kOk;
    }
    const v1::Override& made = response->override();
    std::printf("job %s: %s from step %lld\n", args[0].c_str(), Describe(made).c_str(),
                static_cast<long long>(made.effective_step()));
    int64_t furthest_worker = -1;
    for (int64_t step : job->worker_steps()) furthest_worker = std::max(furthest_worker, step);
    if (made.effective_step() > made.requested_step()) {
      std::printf(
          "  (asked for step %lld; the values up to step %lld had already been handed "
          "out to the workers)\n",
          static_cast<long long>(made.requested_step()),
          static_cast<long long>(made.effective_step() - 1));
    }
    // Later than asked, and beyond the next step a worker trains: values
    // were handed out ahead.
    const bool later = !Given("step") || made.effective_step() > made.requested_step();
    if (later && furthest_worker >= 0 && made.effective_step() > furthest_worker + 2) {
      const int64_t limit = job->max_look_ahead();
      std::printf("%s", Indented(absl::StrCat(
                            "The workers have asked for steps up to ", furthest_worker,
                            "; the values up to step ", made.effective_step() - 1,
                            " were handed out ahead of them, and no override changes those: ",
                            limit > 0 ? absl::StrCat("the job hands out up to ",
                                                     Plural(limit, "step", "steps"),
                                                     " past the one asked for")
                                      : "the server reserves steps ahead in chunks "
                                        "(--handed_out_chunk, 1000 unless set) and gives a "
                                        "worker as many as it asks for (the C++ and Python "
                                        "clients ask for 1000)",
                            ". A smaller max_look_ahead at CreateJob makes overrides take "
                            "effect sooner, at the cost of more Step calls."))
                            .c_str());
    }
    return kOk;
  }

  // Follows the job's events until it is deleted, reconnecting from the next
  // sequence when the connection drops.
  int Watch(const std::vector<std::string>& args) {
    if (args.size() != 1) return Misuse("watch takes one JOB");
    if (absl::GetFlag(FLAGS_from) < 0) {
      return Misuse(absl::StrCat("--from: must be at least 0, got ", absl::GetFlag(FLAGS_from)));
    }
    v1::WatchJobRequest request;
    request.set_job_id(args[0]);
    request.set_from_sequence(absl::GetFlag(FLAGS_from));
    absl::Time give_up = absl::Now() + absl::GetFlag(FLAGS_timeout);
    while (true) {
      grpc::ClientContext context;
      client_.Prepare(&context);
      auto reader = client_.stub().WatchJob(&context, request);
      v1::JobEvent event;
      while (reader->Read(&event)) {
        give_up = absl::Now() + absl::GetFlag(FLAGS_timeout);
        if (Json()) {
          std::printf("%s\n", ToJson(event, /*multiline=*/false).c_str());
        } else {
          std::printf("%s\n", Describe(event).c_str());
        }
        std::fflush(stdout);
        request.set_from_sequence(event.sequence() + 1);
        if (event.has_deleted()) return kOk;
      }
      const grpc::Status status = reader->Finish();
      // Reading events again from the next sequence is harmless.
      if (!client_internal::Transient(status, client_internal::Repeat::kIdempotent) ||
          absl::Now() > give_up) {
        return Fail("WatchJob", FromGrpcStatus(status));
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  }

  // The job's learning rates over the steps its workers have reached (or
  // --steps), read with Step, which hands out nothing new when asked no
  // further; its metric history; marks where ReduceLROnPlateau reduced the
  // rate and where an operator's override took effect.
  int Plot(const std::vector<std::string>& args) {
    if (args.size() != 1) return Misuse("plot takes one JOB");
    if (Given("steps")) {
      LRSCHEDCTL_CHECK(CheckRange("steps", absl::GetFlag(FLAGS_steps), 1, 10'000'000));
    }
    const std::string path =
        Given("out") ? absl::GetFlag(FLAGS_out) : absl::StrCat(args[0], ".svg");
    LRSCHEDCTL_CHECK(CheckWritable("out", path));
    if (Given("epoch_log") && access(absl::GetFlag(FLAGS_epoch_log).c_str(), R_OK) != 0) {
      return Misuse(absl::StrCat("--epoch_log: cannot read ", absl::GetFlag(FLAGS_epoch_log)));
    }
    auto job = client_.GetJob(args[0]);
    if (!job.ok()) return Fail("GetJob", job.status());
    // Up to the furthest step a worker has reached (the values handed out
    // ahead of it are not part of the run yet), and never past what was
    // handed out: asking further would hand out more.
    int64_t last = -1;
    if (Given("steps")) {
      last = absl::GetFlag(FLAGS_steps) - 1;
    } else if (Given("epoch_log")) {
      // Workers train with values they hold ahead, so the log knows better
      // how far the run went: the figure ends at its last epoch.
      last = job->handed_out_step();
    } else {
      for (int64_t step : job->worker_steps()) last = std::max(last, step);
      for (const auto& metric : job->metric_history()) last = std::max(last, metric.step());
    }
    if (last > job->handed_out_step()) {
      std::fprintf(stderr,
                   "note: drawing up to step %lld, the furthest handed out: the values after it "
                   "are not given to the workers yet\n",
                   static_cast<long long>(job->handed_out_step()));
      last = job->handed_out_step();
    }
    if (last < job->first_retained_step()) {
      return Misuse(absl::StrCat("plot: no step to draw: no worker of job ", job->job_id(),
                                 " has asked for one yet (--steps=N draws the first N)"));
    }
    // Read as the rank furthest on, whose position no step drawn moves
    // (as another rank's Step would move that rank's in worker_steps).
    const auto& positions = job->worker_steps();
    const int rank = positions.empty() ? 0
                                       : static_cast<int>(std::max_element(positions.begin(),
                                                                           positions.end()) -
                                                          positions.begin());
    std::vector<v1::StepValues> values;
    for (int64_t step = job->first_retained_step(); step <= last;) {
      auto response = client_.Step(args[0], rank, step, last - step);
      if (!response.ok()) return Fail("Step", response.status());
      if (response->values_size() == 0) break;
      for (auto& value : *response->mutable_values()) {
        if (value.step() <= last) values.push_back(std::move(value));
      }
      step = values.back().step() + 1;
    }
    plot::JobFigureOptions options;
    options.log_scale = absl::GetFlag(FLAGS_log_scale);
    options.epoch_log = absl::GetFlag(FLAGS_epoch_log);
    LRSCHEDCTL_ASSIGN(figure, plot::JobFigure(*job, values, options));
    LRSCHEDCTL_CHECK(WriteFile("out", path, plot::RenderSvg(figure)));
    const int64_t drawn = figure.panels[0].series.empty()
                              ? 0
                              : static_cast<int64_t>(figure.panels[0].series[0].points.size());
    std::printf(
        "wrote %s: %s, %s, %s\n", path.c_str(), Plural(drawn, "step", "steps").c_str(),
        Plural(job->metric_history_size(), "metric", "metrics").c_str(),
        Plural(static_cast<int64_t>(figure.panels[0].marks.size()), "mark", "marks").c_str());
    return kOk;
  }

  int Preview(const std::vector<std::string>& args) {
    if (!args.empty()) return Misuse("preview takes flags only");
    if (!Given("spec")) return Misuse("preview: --spec is missing");
    v1::PreviewScheduleRequest request;
    LRSCHEDCTL_ASSIGN(spec, ParseJson<v1::SchedulerSpec>("--spec", absl::GetFlag(FLAGS_spec)));
    *request.mutable_spec() = std::move(spec);
    LRSCHEDCTL_ASSIGN(base_lrs,
                      ParseDoubles("--base_lrs", absl::GetFlag(FLAGS_base_lrs), Rule::kRate));
    if (Given("base_lrs") && base_lrs.empty()) return Misuse("--base_lrs: no rate given");
    *request.mutable_base_lrs() = {base_lrs.begin(), base_lrs.end()};
    if (base_lrs.empty()) request.add_base_lrs(0.1);
    if (Given("steps")) {
      LRSCHEDCTL_CHECK(CheckRange("steps", absl::GetFlag(FLAGS_steps), 1, 10'000'000));
    }
    request.set_steps(Given("steps") ? absl::GetFlag(FLAGS_steps) : 100);
    LRSCHEDCTL_ASSIGN(metrics,
                      ParseDoubles("--metrics", absl::GetFlag(FLAGS_metrics), Rule::kAnyNumber));
    *request.mutable_metrics() = {metrics.begin(), metrics.end()};
    if (Given("plot")) LRSCHEDCTL_CHECK(CheckWritable("plot", absl::GetFlag(FLAGS_plot)));
    auto response = client_.PreviewSchedule(request);
    if (!response.ok()) return Fail("PreviewSchedule", response.status());
    if (Given("plot")) {
      const plot::Figure figure =
          plot::PreviewFigure(request, *response, absl::GetFlag(FLAGS_log_scale));
      LRSCHEDCTL_CHECK(WriteFile("plot", absl::GetFlag(FLAGS_plot), plot::RenderSvg(figure)));
      std::fprintf(stderr, "wrote %s\n", absl::GetFlag(FLAGS_plot).c_str());
    }
    if (Json()) {
      PrintJson(*response);
      return kOk;
    }
    std::vector<std::vector<std::string>> rows = {{"STEP", "LEARNING RATES"}};
    for (const auto& values : response->values()) {
      rows.push_back(
          {absl::StrCat(values.step()),
           absl::StrCat(Rates(values.lrs()), values.momentums_size() ? "  momentum " : "",
                        Rates(values.momentums()))});
    }
    std::printf("%s", Columns(rows).c_str());
    return kOk;
  }

 private:
  static std::string Describe(const v1::Override& change) {
    if (change.has_lrs()) {
      return absl::StrCat(change.lrs().values_size() == 1 ? "learning rate " : "learning rates ",
                          Rates(change.lrs().values()));
    }
    return absl::StrCat(
        change.mode() == v1::SCALE_SCHEDULE ? "the schedule x " : "learning rates x ",
        ShortestDouble(change.factor()));
  }

  static std::string Describe(const v1::JobEvent& event) {
    const std::string head =
        absl::StrFormat("%6lld %s ", static_cast<long long>(event.sequence()),
                        google::protobuf::util::TimeUtil::ToString(event.time()).substr(0, 23));
    switch (event.kind_case()) {
      case v1::JobEvent::kCreated:
        return absl::StrCat(head, "created: ", SchedulerName(event.created().spec()), ", ",
                            Plural(event.created().world_size(), "worker", "workers"),
                            ", base learning rates ", Rates(event.created().base_lrs()));
      case v1::JobEvent::kMetricReported: {
        const auto& report = event.metric_reported();
        return absl::StrFormat("%sreport: step %d rank %d metric %s weight %s", head, report.step(),
                               report.rank(), ShortestDouble(report.value()),
                               ShortestDouble(report.weight()));
      }
      case v1::JobEvent::kStepAggregated: {
        const auto& metric = event.step_aggregated().metric();
        return absl::StrFormat("%saggregated: step %d metric %s -> learning rates %s%s", head,
                               metric.step(), ShortestDouble(metric.value()), Rates(metric.lrs()),
                               metric.reduced() ? "  REDUCED" : "");
      }
      case v1::JobEvent::kOverrideScheduled: {
        const auto& change = event.override_scheduled().override();
        return absl::StrFormat("%soverride: %s from step %d", head,
                               change.has_lrs()
                                   ? absl::StrCat("learning rates ", Rates(change.lrs().values()))
                                   : absl::StrFormat("x %s (%s)", ShortestDouble(change.factor()),
                                                     v1::OverrideMode_Name(change.mode())),
                               change.effective_step());
      }
      case v1::JobEvent::kWorldSizeChanged:
        return absl::StrFormat("%sworld size: %d from step %d", head,
                               event.world_size_changed().world_size(),
                               event.world_size_changed().step());
      case v1::JobEvent::kHandedOutRaised:
        return absl::StrFormat("%shanded out: up to step %d", head,
                               event.handed_out_raised().step());
      case v1::JobEvent::kStepRequested:
        return absl::StrFormat("%srank %d asked for step %d", head, event.step_requested().rank(),
                               event.step_requested().step());
      case v1::JobEvent::kDeleted:
        return absl::StrCat(head, "deleted");
      case v1::JobEvent::KIND_NOT_SET:
        break;
    }
    return absl::StrCat(head, "(unknown event)");
  }

  Client& client_;
};

// Flags every subcommand takes.
const std::set<std::string> kGlobalFlags = {"server",        "output",       "timeout",
                                            "tls",           "tls_ca_file",  "tls_server_name",
                                            "tls_cert_file", "tls_key_file", "token_file"};

struct Subcommand {
  const char* name;
  const char* usage;
  int (Ctl::*run)(const std::vector<std::string>&);
  std::set<std::string> flags;  // its own, beside kGlobalFlags
};

const Subcommand kSubcommands[] = {
    {"create",
     "create JOB --spec=JSON [--base_lrs=0.1,...] [--world_size=1] [--aggregation=WEIGHTED_MEAN]\n"
     "              [--max_look_ahead=N]\n"
     "       create [JOB] --file=request.json   (a CreateJobRequest in JSON or YAML)\n"
     "  Creates the job (again with the same request: nothing changes).",
     &Ctl::Create,
     {"spec", "file", "base_lrs", "world_size", "aggregation", "max_look_ahead"}},
    {"get",
     "get JOB\n  The job: its schedule, steps, rates, workers' progress, metric history.",
     &Ctl::Get,
     {}},
    {"list", "list [--page_size=100]\n  Every job, one line each.", &Ctl::List, {"page_size"}},
    {"delete",
     "delete JOB\n  Deletes the job; its waiting workers get NOT_FOUND.",
     &Ctl::Delete,
     {}},
    {"set-lr",
     "set-lr JOB --lr=0.01[,...] | --factor=0.5 [--scale_schedule] [--step=N]\n"
     "  Overrides the learning rate (one per parameter group) from step N (default: the\n"
     "  first step not handed out yet) and prints the step at which it took effect, and\n"
     "  why when that is later.",
     &Ctl::SetLr,
     {"lr", "factor", "scale_schedule", "step"}},
    {"watch",
     "watch JOB [--from=SEQUENCE]\n"
     "  Follows the job's events, one line each, until it is deleted; resumes after a\n"
     "  disconnect.",
     &Ctl::Watch,
     {"from"}},
    {"preview",
     "preview --spec=JSON [--base_lrs=0.1,...] [--steps=100] [--metrics=m0,m1,...]\n"
     "  The learning rates the spec gives, step by step, without creating a job;\n"
     "  --plot=FILE.svg [--log_scale] also draws them.",
     &Ctl::Preview,
     {"spec", "base_lrs", "steps", "metrics", "plot", "log_scale"}},
    {"plot",
     "plot JOB [--out=JOB.svg] [--steps=N] [--log_scale] [--epoch_log=TRAINER_LOG.csv]\n"
     "  Draws the job's learning rates up to the furthest step a worker reached (or\n"
     "  --steps), its metric history (with the training loss from lrsched-trainer's\n"
     "  --log_csv), and where ReduceLROnPlateau reduced the rate and overrides took effect.",
     &Ctl::Plot,
     {"out", "steps", "log_scale", "epoch_log"}},
};

std::string Usage() {
  std::string text =
      "lrschedctl: lrsched from the command line.\n\n"
      "  lrschedctl [--server=HOST:PORT] [--output=table|json] SUBCOMMAND [ARGS] [FLAGS]\n\n"
      "Subcommands (lrschedctl SUBCOMMAND --help for one):\n";
  for (const auto& subcommand : kSubcommands) {
    absl::StrAppend(&text, "  ", subcommand.usage, "\n");
  }
  absl::StrAppend(&text,
                  "\nExit codes: 0 done, 1 the server refused, 2 bad command line, 3 server "
                  "unreachable.\nEnvironment: LRSCHED_SERVER, LRSCHED_TOKEN_FILE, "
                  "LRSCHED_TLS_CA_FILE, LRSCHED_TLS_CERT_FILE,\nLRSCHED_TLS_KEY_FILE, "
                  "LRSCHED_TLS_SERVER_NAME.");
  return text;
}

// The subcommand a command line names: its first argument that is one.
const Subcommand* NamedSubcommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") break;
    for (const auto& subcommand : kSubcommands) {
      if (std::string(argv[i]) == subcommand.name) return &subcommand;
    }
  }
  return nullptr;
}

// HOST:PORT with a port of 1 to 65535, or a gRPC target URI (dns:///...,
// unix:...).
absl::Status CheckTarget(const std::string& target) {
  if (absl::StrContains(target, ":/") || absl::StartsWith(target, "unix:")) {
    return absl::OkStatus();
  }
  const size_t colon = target.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(target.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--server: HOST:PORT with a port of 1 to 65535 (or a gRPC target such as "
        "dns:///HOST:PORT), got '",
        target, "'"));
  }
  return absl::OkStatus();
}

int Run(int argc, char** argv) {
  // gRPC's own log lines (a failed TLS handshake, several a second) say
  // nothing an operator can act on that the exit message does not.
  setenv("GRPC_VERBOSITY", "NONE", /*overwrite=*/0);
  // SUBCOMMAND ... --help: that subcommand's usage, not every flag of the tool.
  const Subcommand* named = NamedSubcommand(argc, argv);
  for (int i = 1; i < argc && named != nullptr; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h") {
      std::printf("usage: lrschedctl [--server=HOST:PORT] [--output=table|json] %s\n",
                  named->usage);
      return kOk;
    }
  }
  if (HandledHelp(argc, argv, Usage(), "client/lrschedctl.cc")) return kOk;
  std::vector<std::string> positional;
  if (absl::Status parsed = ParseFlags(argc, argv, &positional, &given_flags); !parsed.ok()) {
    std::fprintf(stderr, "lrschedctl: %s\n(lrschedctl %s--help for the usage)\n",
                 std::string(parsed.message()).c_str(),
                 named != nullptr ? absl::StrCat(named->name, " ").c_str() : "");
    return kUsage;
  }
  if (positional.empty()) {
    std::fprintf(stderr, "%s\n", Usage().c_str());
    return kUsage;
  }
  const std::string name = positional[0];
  const std::vector<std::string> args(positional.begin() + 1, positional.end());
  const Subcommand* chosen = nullptr;
  for (const auto& subcommand : kSubcommands) {
    if (name == subcommand.name) chosen = &subcommand;
  }
  if (chosen == nullptr) {
    std::fprintf(stderr, "lrschedctl: unknown subcommand '%s'\n\n%s\n", name.c_str(),
                 Usage().c_str());
    return kUsage;
  }
  subcommand_name = chosen->name;
  for (const std::string& flag : given_flags) {
    if (kGlobalFlags.count(flag) == 0 && chosen->flags.count(flag) == 0) {
      return Misuse(absl::StrCat(chosen->name, " does not take --", flag));
    }
  }
  const std::string output = absl::GetFlag(FLAGS_output);
  if (output != "table" && output != "json") {
    return Misuse(absl::StrCat("--output: table or json, got '", output, "'"));
  }
  if (absl::GetFlag(FLAGS_timeout) <= absl::ZeroDuration()) {
    return Misuse("--timeout: must be more than 0");
  }

  lrsched::ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  if (options.target.empty()) {
    const char* environment = std::getenv("LRSCHED_SERVER");
    options.target = environment != nullptr ? environment : "localhost:50051";
  }
  server_target = options.target;
  if (absl::Status target = CheckTarget(options.target); !target.ok()) return Misuse(target);
  options.call_timeout = absl::GetFlag(FLAGS_timeout);
  // A preview as long as the server answers (its --max_answer_bytes).
  options.max_receive_message_bytes = 64 << 20;
  options.give_up_after = absl::GetFlag(FLAGS_timeout);
  lrsched::ClientTls tls;
  tls.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  tls.server_name = absl::GetFlag(FLAGS_tls_server_name);
  tls.DefaultFromEnvironment();
  if (!tls.server_name.empty() && !absl::GetFlag(FLAGS_tls) && !tls.enabled()) {
    return Misuse("--tls_server_name: goes with --tls or --tls_ca_file (the connection is "
                  "plaintext without them)");
  }
  if (absl::GetFlag(FLAGS_tls) || tls.enabled()) {
    if (absl::Status used = lrsched::UseTls(tls, &options); !used.ok()) return Misuse(used);
    dialled_with_tls = true;
  }
  if (absl::Status used = lrsched::UseTokenFile(absl::GetFlag(FLAGS_token_file), &options);
      !used.ok()) {
    return Misuse(used);
  }
  lrsched::Client client(options);
  Ctl ctl(client);
  return (ctl.*(chosen->run))(args);
}

}  // namespace
}  // namespace lrsched::ctl

int main(int argc, char** argv) { return lrsched::ctl::Run(argc, argv); }
