// lrschedctl: lrsched from the command line, one subcommand per API call.
//
//   lrschedctl [--server=HOST:PORT] [--output=table|json] SUBCOMMAND [ARGS] [FLAGS]
//
// Exit codes: 0 done; 1 the server refused (the status is printed); 2 the
// command line is wrong; 3 the server could not be reached in time.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
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
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "client/grpc_status.h"
#include "client/svg_plot.h"
#include "lrsched/client.h"
#include "proto/status_conversion.h"
#include "yaml-cpp/yaml.h"

ABSL_FLAG(std::string, server, "",
          "The lrsched server, host:port (default: $LRSCHED_SERVER, else localhost:50051).");
ABSL_FLAG(std::string, output, "table", "table: for people; json: the API's proto3 JSON, for jq.");
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
ABSL_FLAG(std::string, spec, "", "The SchedulerSpec in JSON, e.g. {\"step_lr\": {\"step_size\": 30}}.");
ABSL_FLAG(std::string, file, "",
          "create: a CreateJobRequest in the API's JSON form, as JSON or YAML (.yaml, .yml); "
          "flags given override it.");
ABSL_FLAG(std::vector<std::string>, base_lrs, {}, "The base learning rate of each parameter group.");
ABSL_FLAG(int32_t, world_size, 0, "create: workers in the job (default 1).");
ABSL_FLAG(std::string, aggregation, "", "create: MEAN, WEIGHTED_MEAN, MIN or MAX of the workers' metrics.");
ABSL_FLAG(int64_t, steps, 100, "preview: steps to compute.");
ABSL_FLAG(std::vector<std::string>, metrics, {}, "preview: the metric of each step, for ReduceLROnPlateau.");
// set-lr
ABSL_FLAG(std::vector<std::string>, lr, {}, "set-lr: the new learning rate (one, or one per group).");
ABSL_FLAG(double, factor, 0, "set-lr: multiply the learning rates in force by this instead.");
ABSL_FLAG(bool, scale_schedule, false, "set-lr: with --factor, scale the whole rest of the schedule.");
ABSL_FLAG(int64_t, step, -1, "set-lr: the first step it applies to (default: the next one free).");
// preview, plot
ABSL_FLAG(std::string, plot, "", "preview: also write the schedule as an SVG picture here.");
ABSL_FLAG(std::string, out, "", "plot: the SVG file to write (default JOB.svg).");
ABSL_FLAG(bool, log_scale, false, "preview, plot: the learning rate on a log scale.");
ABSL_FLAG(std::string, epoch_log, "",
          "plot: lrsched-trainer's --log_csv of the job, for its training loss per epoch.");
// list, watch
ABSL_FLAG(int32_t, page_size, 0, "list: jobs per page (the server's default when 0).");
ABSL_FLAG(int64_t, from, 1, "watch: the first event sequence to show.");

namespace lrsched::ctl {
namespace {

constexpr int kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3;

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "lrschedctl: %s: %s\n", what.c_str(), status.ToString().c_str());
  const bool unreachable = status.code() == absl::StatusCode::kUnavailable ||
                           status.code() == absl::StatusCode::kDeadlineExceeded;
  return unreachable ? kUnreachable : kRefused;
}

// The subcommand running, for the usage hint of a command-line mistake.
const char* subcommand_name = "";

int Misuse(const std::string& message) {
  std::fprintf(stderr, "lrschedctl: %s\n(lrschedctl %s --help for its usage)\n",
               message.c_str(), subcommand_name);
  return kUsage;
}
int Misuse(const absl::Status& status) { return Misuse(std::string(status.message())); }

bool Json() { return absl::GetFlag(FLAGS_output) == "json"; }

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  google::protobuf::util::MessageToJsonString(message, &json, options);
  std::printf("%s", json.c_str());
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

// Command-line mistakes are INVALID_ARGUMENT statuses up to main, which
// prints them with the subcommand's usage and exits 2.
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

absl::StatusOr<std::vector<double>> ParseDoubles(const std::string& flag,
                                                 const std::vector<std::string>& texts) {
  std::vector<double> values;
  for (const auto& text : texts) {
    double value;
    if (!absl::SimpleAtod(text, &value)) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": '", text, "' is not a number"));
    }
    values.push_back(value);
  }
  return values;
}

#define LRSCHEDCTL_ASSIGN(lhs, expression)             \
  auto lhs##_or = (expression);                        \
  if (!lhs##_or.ok()) return Misuse(lhs##_or.status()); \
  auto lhs = *std::move(lhs##_or)

// The scheduler's PyTorch name: the message type of the spec's kind.
std::string SchedulerName(const v1::SchedulerSpec& spec) {
  const auto* field = spec.GetDescriptor()->FindFieldByNumber(spec.kind_case());
  return field == nullptr ? "(none)" : field->message_type()->name();
}

std::string Rates(const google::protobuf::RepeatedField<double>& rates) {
  std::vector<std::string> texts;
  for (double rate : rates) texts.push_back(absl::StrFormat("%.6g", rate));
  return absl::StrJoin(texts, ",");
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

constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"};

// Learning rate of each group (and momentum, when there is one) per step.
std::vector<plot::Series> RateSeries(const std::vector<v1::StepValues>& values) {
  std::vector<plot::Series> series;
  if (values.empty()) return series;
  const int groups = values[0].lrs_size();
  for (int g = 0; g < groups; ++g) {
    plot::Series line{groups == 1 ? "learning rate" : absl::StrCat("learning rate, group ", g),
                      kColors[g % 5], {}};
    for (const auto& step : values) line.points.emplace_back(step.step(), step.lrs(g));
    series.push_back(std::move(line));
  }
  return series;
}

// Training and validation loss per epoch from lrsched-trainer's --log_csv
// (a header line, then epoch,train_loss,validation_loss,...).
absl::StatusOr<std::vector<plot::Series>> ReadEpochLog(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) {
    return absl::InvalidArgumentError(absl::StrCat("--epoch_log: cannot read ", path));
  }
  const std::vector<std::string> header = absl::StrSplit(line, ',');
  const auto column = [&](const std::string& name) {
    return std::find(header.begin(), header.end(), name) - header.begin();
  };
  const size_t epoch = column("epoch"), train = column("train_loss"),
               validation = column("validation_loss");
  if (epoch == header.size() || train == header.size() || validation == header.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--epoch_log: ", path, " has no epoch, train_loss and validation_loss columns"));
  }
  std::vector<plot::Series> series = {{"training loss", "#ff7f0e", {}},
                                      {"validation loss", "#2ca02c", {}}};
  for (int number = 2; std::getline(file, line); ++number) {
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    double x, train_loss, validation_loss;
    if (fields.size() != header.size() || !absl::SimpleAtod(fields[epoch], &x) ||
        !absl::SimpleAtod(fields[train], &train_loss) ||
        !absl::SimpleAtod(fields[validation], &validation_loss)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--epoch_log: ", path, " line ", number, " is not a number row"));
    }
    series[0].points.emplace_back(x, train_loss);
    series[1].points.emplace_back(x, validation_loss);
  }
  return series;
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  file.close();
  if (!file) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

class Ctl {
 public:
  explicit Ctl(Client& client) : client_(client) {}

  int Create(const std::vector<std::string>& args) {
    v1::CreateJobRequest request;
    if (!absl::GetFlag(FLAGS_file).empty()) {
      std::ifstream file(absl::GetFlag(FLAGS_file));
      if (!file) return Misuse(absl::StrCat("--file: cannot read ", absl::GetFlag(FLAGS_file)));
      std::stringstream text;
      text << file.rdbuf();
      std::string json = text.str();
      const std::string& path = absl::GetFlag(FLAGS_file);
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
    if (!absl::GetFlag(FLAGS_spec).empty()) {
      LRSCHEDCTL_ASSIGN(spec, ParseJson<v1::SchedulerSpec>("--spec", absl::GetFlag(FLAGS_spec)));
      *request.mutable_spec() = std::move(spec);
    }
    if (!request.has_spec()) return Misuse("create: --spec (or --file) is missing");
    LRSCHEDCTL_ASSIGN(base_lrs, ParseDoubles("--base_lrs", absl::GetFlag(FLAGS_base_lrs)));
    if (!base_lrs.empty()) *request.mutable_base_lrs() = {base_lrs.begin(), base_lrs.end()};
    if (absl::GetFlag(FLAGS_world_size) > 0) request.set_world_size(absl::GetFlag(FLAGS_world_size));
    if (!absl::GetFlag(FLAGS_aggregation).empty()) {
      v1::Aggregation aggregation;
      if (!v1::Aggregation_Parse(absl::AsciiStrToUpper(absl::GetFlag(FLAGS_aggregation)),
                                 &aggregation)) {
        return Misuse("--aggregation: MEAN, WEIGHTED_MEAN, MIN or MAX");
      }
      request.set_aggregation(aggregation);
    }
    auto job = client_.CreateJob(request);
    if (!job.ok()) return Fail("CreateJob", job.status());
    if (Json()) {
      PrintJson(*job);
    } else {
      std::printf("job %s created: %s, %d workers, base learning rates %s\n",
                  job->job_id().c_str(), SchedulerName(job->spec()).c_str(), job->world_size(),
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
      std::printf("                  (not served; its log is kept as it is; "
                  "`lrschedctl delete %s` removes it)\n",
                  job->job_id().c_str());
      return kOk;
    }
    std::printf("scheduler:        %s\n", SchedulerName(job->spec()).c_str());
    std::printf("workers:          %d (%s)\n", job->world_size(),
                v1::Aggregation_Name(job->aggregation()).c_str());
    std::printf("created:          %s\n",
                google::protobuf::util::TimeUtil::ToString(job->create_time()).c_str());
    std::printf("decided step:     %lld (handed out to %lld)\n",
                static_cast<long long>(job->decided_step()),
                static_cast<long long>(job->handed_out_step()));
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
      std::printf("last metric:      %.6g at step %lld, %d reductions\n", last.value(),
                  static_cast<long long>(last.step()), reductions);
      std::printf("learning rate:    %s  (last %zu epochs)\n", Sparkline(recent).c_str(),
                  recent.size());
    }
    return kOk;
  }

  int List(const std::vector<std::string>& args) {
    if (!args.empty()) return Misuse("list takes no arguments");
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
    std::printf("%-24s %-26s %7s %9s %-14s %7s\n", "JOB", "SCHEDULER", "WORKERS", "DECIDED",
                "LR", "WAITING");
    for (const auto& job : all.jobs()) {
      if (!job.damaged().empty()) {
        std::printf("%-24s %-26s\n", job.job_id().c_str(), "DAMAGED (see get)");
        continue;
      }
      std::printf("%-24s %-26s %7d %9lld %-14s %7d\n", job.job_id().c_str(),
                  SchedulerName(job.spec()).c_str(), job.world_size(),
                  static_cast<long long>(job.decided_step()),
                  job.has_latest() ? Rates(job.latest().lrs()).c_str() : "-",
                  job.waiting_steps());
    }
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
    v1::SetLearningRateRequest request;
    request.set_job_id(args[0]);
    LRSCHEDCTL_ASSIGN(lrs, ParseDoubles("--lr", absl::GetFlag(FLAGS_lr)));
    const double factor = absl::GetFlag(FLAGS_factor);
    if (lrs.empty() == (factor == 0)) return Misuse("set-lr: give either --lr or --factor");
    if (!lrs.empty()) {
      *request.mutable_lrs()->mutable_values() = {lrs.begin(), lrs.end()};
    } else {
      request.set_factor(factor);
    }
    if (absl::GetFlag(FLAGS_scale_schedule)) {
      if (lrs.size() > 0) return Misuse("set-lr: --scale_schedule goes with --factor");
      request.set_mode(v1::SCALE_SCHEDULE);
    }
    if (absl::GetFlag(FLAGS_step) >= 0) {
      request.set_step(absl::GetFlag(FLAGS_step));
    } else {
      auto job = client_.GetJob(args[0]);
      if (!job.ok()) return Fail("GetJob", job.status());
      request.set_step(job->handed_out_step() + 1);
    }
    auto response = client_.SetLearningRate(request);
    if (!response.ok()) return Fail("SetLearningRate", response.status());
    if (Json()) {
      PrintJson(*response);
    } else {
      std::printf("job %s: %s from step %lld (asked for step %lld)\n", args[0].c_str(),
                  lrs.empty() ? absl::StrFormat("learning rates x %g", factor).c_str()
                              : absl::StrCat("learning rates ", Rates(request.lrs().values())).c_str(),
                  static_cast<long long>(response->override().effective_step()),
                  static_cast<long long>(response->override().requested_step()));
    }
    return kOk;
  }

  // Follows the job's events until it is deleted, reconnecting from the next
  // sequence when the connection drops.
  int Watch(const std::vector<std::string>& args) {
    if (args.size() != 1) return Misuse("watch takes one JOB");
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
          std::string json;
          google::protobuf::util::MessageToJsonString(event, &json);
          std::printf("%s\n", json.c_str());
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

  // The job's learning rates over its retained, handed-out steps (read with
  // Step, which hands out nothing new when asked no further), its metric
  // history, and marks where ReduceLROnPlateau reduced the rate and where an
  // operator's override took effect.
  int Plot(const std::vector<std::string>& args) {
    if (args.size() != 1) return Misuse("plot takes one JOB");
    auto job = client_.GetJob(args[0]);
    if (!job.ok()) return Fail("GetJob", job.status());
    std::vector<v1::StepValues> values;
    for (int64_t step = job->first_retained_step(); step <= job->handed_out_step();) {
      auto response = client_.Step(args[0], 0, step, job->handed_out_step() - step);
      if (!response.ok()) return Fail("Step", response.status());
      if (response->values_size() == 0) break;
      for (auto& value : *response->mutable_values()) values.push_back(std::move(value));
      step = values.back().step() + 1;
    }
    plot::Figure figure;
    figure.title = absl::StrCat("job ", job->job_id(), ": ", SchedulerName(job->spec()));
    plot::Panel rates{"learning rate", absl::GetFlag(FLAGS_log_scale), RateSeries(values), {}};
    std::vector<plot::Mark> marks;
    for (const auto& metric : job->metric_history()) {
      if (metric.reduced()) {
        marks.push_back({static_cast<double>(metric.step() + 1),
                         absl::StrFormat("plateau reduction: from step %d",
                                         metric.step() + 1),
                         "#d62728"});
      }
    }
    for (const auto& change : job->overrides()) {
      marks.push_back({static_cast<double>(change.effective_step()),
                       absl::StrFormat("override: from step %d", change.effective_step()),
                       "#7f7f7f"});
    }
    rates.marks = marks;
    figure.panels.push_back(std::move(rates));
    plot::Panel metric{"aggregated metric", false, {}, marks};
    if (!absl::GetFlag(FLAGS_epoch_log).empty()) {
      auto losses = ReadEpochLog(absl::GetFlag(FLAGS_epoch_log));
      if (!losses.ok()) return Misuse(losses.status());
      metric.y_label = "loss";
      metric.series = *std::move(losses);
      // A picture of the run: the steps it trained, not the ones handed out
      // ahead of it.
      if (!metric.series[0].points.empty()) {
        const double last = metric.series[0].points.back().first;
        for (auto& series : figure.panels[0].series) {
          auto& points = series.points;
          points.erase(std::remove_if(points.begin(), points.end(),
                                      [&](const auto& p) { return p.first > last; }),
                       points.end());
        }
      }
    }
    if (job->metric_history_size() > 0) {
      if (!metric.series.empty()) metric.series.pop_back();  // the server's is the same
      metric.series.push_back({"aggregated metric (validation loss)", "#2ca02c", {}});
      for (const auto& entry : job->metric_history()) {
        metric.series.back().points.emplace_back(entry.step(), entry.value());
      }
    }
    if (!metric.series.empty()) figure.panels.push_back(std::move(metric));
    const std::string path =
        absl::GetFlag(FLAGS_out).empty() ? absl::StrCat(args[0], ".svg") : absl::GetFlag(FLAGS_out);
    if (auto status = WriteFile(path, plot::RenderSvg(figure)); !status.ok()) {
      return Fail("--out", status);
    }
    std::printf("wrote %s: %zu steps, %d metrics, %zu marks\n", path.c_str(), values.size(),
                job->metric_history_size(), marks.size());
    return kOk;
  }

  int Preview(const std::vector<std::string>& args) {
    if (!args.empty()) return Misuse("preview takes flags only");
    if (absl::GetFlag(FLAGS_spec).empty()) return Misuse("preview: --spec is missing");
    v1::PreviewScheduleRequest request;
    LRSCHEDCTL_ASSIGN(spec, ParseJson<v1::SchedulerSpec>("--spec", absl::GetFlag(FLAGS_spec)));
    *request.mutable_spec() = std::move(spec);
    LRSCHEDCTL_ASSIGN(base_lrs, ParseDoubles("--base_lrs", absl::GetFlag(FLAGS_base_lrs)));
    *request.mutable_base_lrs() = {base_lrs.begin(), base_lrs.end()};
    if (base_lrs.empty()) request.add_base_lrs(0.1);
    request.set_steps(absl::GetFlag(FLAGS_steps));
    LRSCHEDCTL_ASSIGN(metrics, ParseDoubles("--metrics", absl::GetFlag(FLAGS_metrics)));
    *request.mutable_metrics() = {metrics.begin(), metrics.end()};
    auto response = client_.PreviewSchedule(request);
    if (!response.ok()) return Fail("PreviewSchedule", response.status());
    if (!absl::GetFlag(FLAGS_plot).empty()) {
      plot::Figure figure;
      figure.title = absl::StrCat("preview: ", SchedulerName(request.spec()));
      plot::Panel rates{"learning rate", absl::GetFlag(FLAGS_log_scale), {}, {}};
      rates.series = RateSeries({response->values().begin(), response->values().end()});
      figure.panels.push_back(std::move(rates));
      if (auto status = WriteFile(absl::GetFlag(FLAGS_plot), plot::RenderSvg(figure));
          !status.ok()) {
        return Fail("--plot", status);
      }
      std::fprintf(stderr, "wrote %s\n", absl::GetFlag(FLAGS_plot).c_str());
    }
    if (Json()) {
      PrintJson(*response);
      return kOk;
    }
    std::printf("%8s  %s\n", "STEP", "LEARNING RATES");
    for (const auto& values : response->values()) {
      std::printf("%8lld  %s%s%s\n", static_cast<long long>(values.step()),
                  Rates(values.lrs()).c_str(), values.momentums_size() ? "  momentum " : "",
                  Rates(values.momentums()).c_str());
    }
    return kOk;
  }

 private:
  static std::string Describe(const v1::JobEvent& event) {
    const std::string head = absl::StrFormat(
        "%6lld %s ", static_cast<long long>(event.sequence()),
        google::protobuf::util::TimeUtil::ToString(event.time()).substr(0, 23));
    switch (event.kind_case()) {
      case v1::JobEvent::kCreated:
        return absl::StrCat(head, "created: ", SchedulerName(event.created().spec()), ", ",
                            event.created().world_size(), " workers, base learning rates ",
                            Rates(event.created().base_lrs()));
      case v1::JobEvent::kMetricReported: {
        const auto& report = event.metric_reported();
        return absl::StrFormat("%sreport: step %d rank %d metric %.6g weight %g", head,
                               report.step(), report.rank(), report.value(), report.weight());
      }
      case v1::JobEvent::kStepAggregated: {
        const auto& metric = event.step_aggregated().metric();
        return absl::StrFormat("%saggregated: step %d metric %.6g -> learning rates %s%s", head,
                               metric.step(), metric.value(), Rates(metric.lrs()),
                               metric.reduced() ? "  REDUCED" : "");
      }
      case v1::JobEvent::kOverrideScheduled: {
        const auto& change = event.override_scheduled().override();
        return absl::StrFormat(
            "%soverride: %s from step %d", head,
            change.has_lrs() ? absl::StrCat("learning rates ", Rates(change.lrs().values()))
                             : absl::StrFormat("x %g (%s)", change.factor(),
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
        return absl::StrFormat("%srank %d asked for step %d", head,
                               event.step_requested().rank(), event.step_requested().step());
      case v1::JobEvent::kDeleted:
        return absl::StrCat(head, "deleted");
      case v1::JobEvent::KIND_NOT_SET:
        break;
    }
    return absl::StrCat(head, "(unknown event)");
  }

  Client& client_;
};

struct Subcommand {
  const char* name;
  const char* usage;
  int (Ctl::*run)(const std::vector<std::string>&);
};

const Subcommand kSubcommands[] = {
    {"create",
     "create JOB --spec=JSON [--base_lrs=0.1,...] [--world_size=N] [--aggregation=MEAN]\n"
     "       create [JOB] --file=request.json   (a CreateJobRequest in JSON)\n"
     "  Creates the job (again with the same request: nothing changes).",
     &Ctl::Create},
    {"get", "get JOB\n  The job: its schedule, step, rates, waiting workers, metric history.",
     &Ctl::Get},
    {"list", "list [--page_size=N]\n  Every job, one line each.", &Ctl::List},
    {"delete", "delete JOB\n  Deletes the job; its waiting workers get NOT_FOUND.", &Ctl::Delete},
    {"set-lr",
     "set-lr JOB --lr=0.01[,...] | --factor=0.5 [--scale_schedule] [--step=N]\n"
     "  Overrides the learning rate from step N (default: the first step not handed out\n"
     "  yet) and prints the step at which it took effect.",
     &Ctl::SetLr},
    {"watch",
     "watch JOB [--from=SEQUENCE]\n"
     "  Follows the job's events, one line each, until it is deleted; resumes after a\n"
     "  disconnect.",
     &Ctl::Watch},
    {"preview",
     "preview --spec=JSON [--base_lrs=0.1,...] [--steps=N] [--metrics=m0,m1,...]\n"
     "  The learning rates the spec gives, step by step, without creating a job;\n"
     "  --plot=FILE.svg [--log_scale] also draws them.",
     &Ctl::Preview},
    {"plot",
     "plot JOB [--out=FILE.svg] [--log_scale] [--epoch_log=TRAINER_LOG.csv]\n"
     "  Draws the job's learning rates, its metric history (with the training loss from\n"
     "  lrsched-trainer's --log_csv), and where ReduceLROnPlateau reduced the rate and\n"
     "  overrides took effect.",
     &Ctl::Plot},
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
                  "unreachable.\nEnvironment: LRSCHED_SERVER.\n");
  return text;
}

}  // namespace
}  // namespace lrsched::ctl

int main(int argc, char** argv) {
  using namespace lrsched::ctl;
  absl::SetProgramUsageMessage(Usage());
  // SUBCOMMAND --help: that subcommand's usage, not every flag of the tool.
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i + 1]) != "--help") continue;
    for (const auto& subcommand : kSubcommands) {
      if (std::string(argv[i]) == subcommand.name) {
        std::printf("usage: lrschedctl [--server=HOST:PORT] [--output=table|json] %s\n",
                    subcommand.usage);
        return kOk;
      }
    }
  }
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  positional.erase(positional.begin());
  if (positional.empty()) {
    std::fprintf(stderr, "%s", Usage().c_str());
    return kUsage;
  }
  const std::string name = positional[0];
  const std::vector<std::string> args(positional.begin() + 1, positional.end());
  const Subcommand* chosen = nullptr;
  for (const auto& subcommand : kSubcommands) {
    if (name == subcommand.name) chosen = &subcommand;
  }
  if (chosen == nullptr) {
    std::fprintf(stderr, "lrschedctl: unknown subcommand '%s'\n\n%s", name.c_str(),
                 Usage().c_str());
    return kUsage;
  }
  const std::string output = absl::GetFlag(FLAGS_output);
  if (output != "table" && output != "json") {
    std::fprintf(stderr, "lrschedctl: --output must be table or json, got '%s'\n",
                 output.c_str());
    return kUsage;
  }

  lrsched::ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  if (options.target.empty()) {
    const char* environment = std::getenv("LRSCHED_SERVER");
    options.target = environment != nullptr ? environment : "localhost:50051";
  }
  options.call_timeout = absl::GetFlag(FLAGS_timeout);
  options.give_up_after = absl::GetFlag(FLAGS_timeout);
  lrsched::ClientTls tls;
  tls.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  tls.server_name = absl::GetFlag(FLAGS_tls_server_name);
  tls.DefaultFromEnvironment();
  if (absl::GetFlag(FLAGS_tls) || tls.enabled()) {
    if (absl::Status used = lrsched::UseTls(tls, &options); !used.ok()) {
      std::fprintf(stderr, "lrschedctl: %s\n", std::string(used.message()).c_str());
      return kUsage;
    }
  }
  if (absl::Status used = lrsched::UseTokenFile(absl::GetFlag(FLAGS_token_file), &options);
      !used.ok()) {
    std::fprintf(stderr, "lrschedctl: %s\n", std::string(used.message()).c_str());
    return kUsage;
  }
  lrsched::Client client(options);
  Ctl ctl(client);
  subcommand_name = chosen->name;
  return (ctl.*(chosen->run))(args);
}
