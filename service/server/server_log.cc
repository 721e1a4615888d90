#include "service/server/server_log.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/job/scheduler_names.h"

namespace lrsched {
namespace {

// Lines waiting for the writer beyond this are dropped (and counted): a
// reader of stderr that stops must not grow the server without bound.
constexpr size_t kMaxQueued = 10'000;

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// The shortest of 15 or 17 significant digits that reads back as the same
// double.
std::string Number(double value) {
  if (std::isfinite(value)) {
    std::string text = absl::StrFormat("%.15g", value);
    if (std::strtod(text.c_str(), nullptr) != value) text = absl::StrFormat("%.17g", value);
    return text;
  }
  return std::isnan(value) ? "NaN" : (value > 0 ? "Infinity" : "-Infinity");
}

// JSON has no NaN or infinities: they go as strings, as in proto3 JSON.
std::string JsonNumber(double value) {
  return std::isfinite(value) ? Number(value) : JsonString(Number(value));
}

}  // namespace

LogLine& LogLine::Add(absl::string_view key, absl::string_view value) {
  const bool plain = !value.empty() && std::none_of(value.begin(), value.end(), [](char c) {
    return absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '"' || c == '=';
  });
  fields_.push_back({std::string(key), JsonString(value),
                     plain ? std::string(value) : JsonString(value)});
  return *this;
}

LogLine& LogLine::Add(absl::string_view key, int64_t value) {
  fields_.push_back({std::string(key), absl::StrCat(value), absl::StrCat(value)});
  return *this;
}

LogLine& LogLine::Add(absl::string_view key, double value) {
  fields_.push_back({std::string(key), JsonNumber(value), Number(value)});
  return *this;
}

LogLine& LogLine::Add(absl::string_view key,
                      const google::protobuf::RepeatedField<double>& values) {
  std::vector<std::string> json, text;
  for (double value : values) {
    json.push_back(JsonNumber(value));
    text.push_back(Number(value));
  }
  fields_.push_back({std::string(key), absl::StrCat("[", absl::StrJoin(json, ","), "]"),
                     absl::StrJoin(text, ",")});
  return *this;
}

ServerLog::ServerLog(LogFormat format, bool errors_only, std::FILE* out)
    : format_(format), errors_only_(errors_only), out_(out),
      writer_([this] { WriterLoop(); }) {}

ServerLog::~ServerLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
}

void ServerLog::Info(absl::string_view event, const LogLine& line) {
  if (!errors_only_) Log("info", event, line);
}

void ServerLog::Warning(absl::string_view event, const LogLine& line) {
  if (!errors_only_) Log("warning", event, line);
}

void ServerLog::Error(absl::string_view event, const LogLine& line) { Log("error", event, line); }

void ServerLog::Log(absl::string_view level, absl::string_view event, const LogLine& line) {
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::string text;
  if (format_ == LogFormat::kJson) {
    text = absl::StrCat("{\"time\":", JsonString(time), ",\"level\":", JsonString(level),
                        ",\"event\":", JsonString(event));
    for (const auto& field : line.fields_) {
      absl::StrAppend(&text, ",", JsonString(field.key), ":", field.json);
    }
    text += "}\n";
  } else {
    text = absl::StrCat(time, " ", level, " ", event);
    for (const auto& field : line.fields_) absl::StrAppend(&text, " ", field.key, "=", field.text);
    text += "\n";
  }
  absl::MutexLock lock(&mu_);
  if (queue_.size() >= kMaxQueued) {
    ++dropped_;
    return;
  }
  queue_.push_back(std::move(text));
  ++queued_;
}

void ServerLog::Flush() {
  absl::MutexLock lock(&mu_);
  const int64_t target = queued_;
  const auto written = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return written_ >= target;
  };
  mu_.Await(absl::Condition(&written));
}

void ServerLog::WriterLoop() {
  while (true) {
    std::deque<std::string> batch;
    int64_t dropped = 0;
    {
      absl::MutexLock lock(&mu_);
      const auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&work));
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
      std::swap(dropped, dropped_);
    }
    for (const std::string& text : batch) std::fputs(text.c_str(), out_);
    if (dropped > 0) {
      std::fprintf(out_, "lrsched-server: %lld log lines dropped: stderr is not being read\n",
                   static_cast<long long>(dropped));
    }
    std::fflush(out_);
    absl::MutexLock lock(&mu_);
    written_ += static_cast<int64_t>(batch.size());
  }
}

void ServerLog::OnEvent(const v1::JobEvent& event) {
  switch (event.kind_case()) {
    case v1::JobEvent::kCreated:
      Info("job_created", LogLine()
                              .Add("job", event.job_id())
                              .Add("scheduler", SchedulerClassName(event.created().spec().kind_case()))
                              .Add("world_size", int64_t{event.created().world_size()})
                              .Add("base_lrs", event.created().base_lrs()));
      break;
    case v1::JobEvent::kStepAggregated: {
      const auto& metric = event.step_aggregated().metric();
      if (!metric.reduced()) break;
      Info("learning_rate_reduced", LogLine()
                                        .Add("job", event.job_id())
                                        .Add("step", metric.step() + 1)
                                        .Add("metric", metric.value())
                                        .Add("lrs", metric.lrs()));
      break;
    }
    case v1::JobEvent::kOverrideScheduled: {
      const auto& change = event.override_scheduled().override();
      LogLine line;
      line.Add("job", event.job_id())
          .Add("step", change.effective_step())
          .Add("requested_step", change.requested_step())
          .Add("mode", v1::OverrideMode_Name(change.mode()));
      if (change.has_lrs()) {
        line.Add("lrs", change.lrs().values());
      } else {
        line.Add("factor", change.factor());
      }
      Info("override_scheduled", line);
      break;
    }
    case v1::JobEvent::kWorldSizeChanged:
      Info("world_size_changed",
           LogLine()
               .Add("job", event.job_id())
               .Add("step", event.world_size_changed().step())
               .Add("world_size", int64_t{event.world_size_changed().world_size()}));
      break;
    case v1::JobEvent::kDeleted:
      Info("job_deleted", LogLine().Add("job", event.job_id()));
      break;
    default:
      break;
  }
}

void ServerLog::OnClosed(const std::string& job_id, const absl::Status& status) {
  if (shutting_down_.load(std::memory_order_acquire) && status == closing_) return;
  Error("job_closed", LogLine().Add("job", job_id).Add("error", status.ToString()));
}

void ServerLog::StartShutdown(const absl::Status& closing) {
  closing_ = closing;
  shutting_down_.store(true, std::memory_order_release);
}

}  // namespace lrsched
