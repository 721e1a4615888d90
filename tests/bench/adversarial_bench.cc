// One server, one normal training job, and everything costly a client may
// validly ask at once: Steps far ahead on 1,024-group jobs, previews of the
// largest answer the server gives, a thousand parked Steps, a hundred
// watchers and one that reads slowly. Reports the normal job's Step latency
// alone and under that load (in the same run), the health check's, and the
// server's peak resident memory against its --memory_budget.
//
//   build/tests/bench/adversarial_bench --server=build/service/lrsched-server --runs=3
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "tests/bench/load.h"

ABSL_FLAG(std::string, server, "", "The lrsched-server binary to start.");
ABSL_FLAG(int64_t, memory_budget, int64_t{1} << 30, "The server's --memory_budget, bytes.");
ABSL_FLAG(absl::Duration, quiet, absl::Seconds(10), "The normal job alone, first.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(40), "Then under the costly load.");
ABSL_FLAG(int, far_clients, 2, "Clients asking 1,024-group jobs for steps far ahead.");
ABSL_FLAG(int, preview_clients, 2, "Clients asking for the largest previews.");
ABSL_FLAG(int, parked, 1000, "Steps parked on an undecided step throughout.");
ABSL_FLAG(int, watchers, 100, "WatchJob streams on the normal job.");
ABSL_FLAG(int, runs, 1, "Runs, each with a fresh server.");
ABSL_FLAG(bool, fail_over_budget, true,
          "Fail when the server's peak resident memory passes its budget (not "
          "meaningful under a sanitizer, whose shadow memory counts).");

namespace lrsched::bench {
namespace {

using Stub = v1::SchedulerService::Stub;

template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  if (!google::protobuf::util::JsonStringToMessage(json, &message).ok()) Die(json);
  return message;
}

grpc::Status Call(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                           const v1::StepRequest&,
                                                           v1::StepResponse*),
                  const v1::StepRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::StepResponse response;
  return (stub.*method)(&context, request, &response);
}

void Create(Stub& stub, const v1::CreateJobRequest& request) {
  grpc::ClientContext context;
  v1::Job job;
  const grpc::Status status = stub.CreateJob(&context, request, &job);
  if (!status.ok()) Die(absl::StrCat("CreateJob: ", status.error_message()));
}

v1::CreateJobRequest WideJob(const std::string& id) {
  auto request = FromJson<v1::CreateJobRequest>(
      R"({"spec": {"cosine_annealing_warm_restarts": {"t_0": 1000}}})");
  request.set_job_id(id);
  for (int g = 0; g < 1024; ++g) request.add_base_lrs(0.1 + g * 1e-6);
  return request;
}

struct Latencies {
  std::vector<double> us;
  double Percentile(double p) {
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    return us[std::min(us.size() - 1, static_cast<size_t>(p * static_cast<double>(us.size())))];
  }
};

// The sequence of the job's latest event, where a watcher starts: a job
// keeps only its latest events for watchers.
int64_t LatestSequence(Stub& stub, const std::string& job_id) {
  grpc::ClientContext context;
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  request.set_view(v1::JOB_VIEW_BASIC);
  v1::Job job;
  const grpc::Status status = stub.GetJob(&context, request, &job);
  if (!status.ok()) Die(absl::StrCat("GetJob: ", status.error_message()));
  return job.last_sequence();
}

// Reads a job's events as they come.
class Watcher : public grpc::ClientReadReactor<v1::JobEvent> {
 public:
  Watcher(Stub& stub, const std::string& job_id) {
    request_.set_job_id(job_id);
    request_.set_from_sequence(LatestSequence(stub, job_id));
    stub.async()->WatchJob(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    ++events_;
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    if (status.error_code() != grpc::CANCELLED) {
      std::fprintf(stderr, "adversarial_bench: a watcher ended: %s\n",
                   status.error_message().c_str());
    }
    done_.Notify();
  }
  void Stop() {
    context_.TryCancel();
    done_.WaitForNotification();
  }
  int64_t events() const { return events_; }

 private:
  std::atomic<int64_t> events_{0};
  grpc::ClientContext context_;
  v1::WatchJobRequest request_;
  v1::JobEvent event_;
  absl::Notification done_;
};

// Reads a job's events a tenth of a second apart, in a thread of its own,
// starting again from the latest when it falls behind what the server keeps.
class SlowWatcher {
 public:
  SlowWatcher(Stub& stub, const std::string& job_id)
      : thread_([this, &stub, job_id] {
          v1::WatchJobRequest request;
          request.set_job_id(job_id);
          while (!stop_.load()) {
            request.set_from_sequence(LatestSequence(stub, job_id));
            {
              absl::MutexLock lock(&mu_);
              context_ = std::make_unique<grpc::ClientContext>();
            }
            auto reader = stub.WatchJob(context_.get(), request);
            v1::JobEvent event;
            while (!stop_.load() && reader->Read(&event)) {
              ++events_;
              absl::SleepFor(absl::Milliseconds(100));
            }
            reader->Finish().IgnoreError();
            ++restarts_;
          }
        }) {}
  ~SlowWatcher() {
    stop_ = true;
    {
      absl::MutexLock lock(&mu_);
      if (context_ != nullptr) context_->TryCancel();
    }
    thread_.join();
  }
  int64_t events() const { return events_; }
  int64_t restarts() const { return restarts_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> restarts_{0};
  std::atomic<int64_t> events_{0};
  absl::Mutex mu_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::thread thread_;
};

struct RunResult {
  double quiet_p50 = 0, quiet_p99 = 0, quiet_max = 0;
  double loaded_p50 = 0, loaded_p99 = 0, loaded_max = 0;
  double health_p99 = 0, health_max = 0;
  int64_t far_computed = 0, far_refused = 0, previews = 0, previews_refused = 0;
  int64_t watched = 0, slow_events = 0, slow_restarts = 0;
  int64_t peak_bytes = 0;
};

RunResult RunOnce() {
  const int64_t budget = absl::GetFlag(FLAGS_memory_budget);
  BenchServer server(absl::GetFlag(FLAGS_server),
                     {absl::StrCat("--memory_budget=", budget), "--log_level=error"});
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(256 << 20);
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto normal_channel =
      grpc::CreateCustomChannel(server.target(), grpc::InsecureChannelCredentials(), arguments);
  auto costly_channel = OpenChannels(server.target(), 1).front();
  auto preview_channel =
      grpc::CreateCustomChannel(server.target(), grpc::InsecureChannelCredentials(), arguments);
  auto normal = v1::SchedulerService::NewStub(normal_channel);
  auto costly = v1::SchedulerService::NewStub(costly_channel);
  auto previewer = v1::SchedulerService::NewStub(preview_channel);
  auto health = grpc::health::v1::Health::NewStub(normal_channel);

  Create(*normal, FromJson<v1::CreateJobRequest>(
                      R"({"job_id": "train", "base_lrs": [0.1, 0.01],
                          "spec": {"reduce_lr_on_plateau": {"patience": 3}}})"));
  Create(*costly, FromJson<v1::CreateJobRequest>(
                      R"({"job_id": "parked", "base_lrs": [0.1], "world_size": 2,
                          "spec": {"reduce_lr_on_plateau": {}}})"));
  for (int c = 0; c < absl::GetFlag(FLAGS_far_clients); ++c) {
    Create(*costly, WideJob(absl::StrCat("wide", c)));
  }

  // The normal job: one worker, Step then ReportMetric, as fast as it can.
  enum Phase { kQuiet, kLoaded, kStop };
  std::atomic<int> phase{kQuiet};
  Latencies quiet, loaded, health_latency;
  std::thread trainer([&] {
    for (int64_t step = 0; phase.load() != kStop; ++step) {
      v1::StepRequest request;
      request.set_job_id("train");
      request.set_step(step);
      const int at = phase.load();
      const absl::Time start = absl::Now();
      const grpc::Status status = Call(*normal, &Stub::Step, request);
      const double us = absl::ToDoubleMicroseconds(absl::Now() - start);
      if (!status.ok()) Die(absl::StrCat("Step of the normal job: ", status.error_message()));
      (at == kQuiet ? quiet : loaded).us.push_back(us);
      grpc::ClientContext context;
      v1::ReportMetricRequest report;
      report.set_job_id("train");
      report.set_step(step);
      report.set_value(1.0 + static_cast<double>(step % 11));
      v1::ReportMetricResponse answer;
      const grpc::Status reported = normal->ReportMetric(&context, report, &answer);
      if (!reported.ok()) Die(absl::StrCat("ReportMetric: ", reported.error_message()));
    }
  });
  std::thread prober([&] {
    while (phase.load() != kStop) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse response;
      const absl::Time start = absl::Now();
      const grpc::Status status = health->Check(&context, request, &response);
      if (!status.ok()) Die(absl::StrCat("health check: ", status.error_message()));
      if (phase.load() == kLoaded) {
        health_latency.us.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  absl::SleepFor(absl::GetFlag(FLAGS_quiet));
  phase = kLoaded;

  // Parked Steps: nobody reports step 0 of "parked", so step 1 stays undecided.
  struct Parked {
    grpc::ClientContext context;
    v1::StepRequest request;
    v1::StepResponse response;
  };
  std::vector<std::unique_ptr<Parked>> parked;
  std::atomic<int> parked_left{absl::GetFlag(FLAGS_parked)};
  absl::Notification parked_done;
  for (int i = 0; i < absl::GetFlag(FLAGS_parked); ++i) {
    auto call = std::make_unique<Parked>();
    call->request.set_job_id("parked");
    call->request.set_rank(i % 2);
    call->request.set_step(1);
    costly->async()->Step(&call->context, &call->request, &call->response,
                          [&](grpc::Status) {
                            if (--parked_left == 0) parked_done.Notify();
                          });
    parked.push_back(std::move(call));
  }
  if (parked.empty()) parked_done.Notify();
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < absl::GetFlag(FLAGS_watchers); ++i) {
    watchers.push_back(std::make_unique<Watcher>(*costly, "train"));
  }
  auto slow = std::make_unique<SlowWatcher>(*costly, "train");

  std::atomic<int64_t> far_computed{0}, far_refused{0}, previews{0}, previews_refused{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < absl::GetFlag(FLAGS_far_clients); ++c) {
    clients.emplace_back([&, c] {
      v1::StepRequest request;
      request.set_job_id(absl::StrCat("wide", c));
      for (int64_t step = 0; phase.load() == kLoaded;) {
        // Refused at once, then the most one call computes.
        request.set_step(step + 2'000'000);
        if (!Call(*costly, &Stub::Step, request).ok()) ++far_refused;
        request.set_step(step + 4'096);
        if (!Call(*costly, &Stub::Step, request).ok()) Die("a far Step within the limit failed");
        step += 4'096;
        ++far_computed;
      }
    });
  }
  for (int c = 0; c < absl::GetFlag(FLAGS_preview_clients); ++c) {
    clients.emplace_back([&, c] {
      // The largest answers: 2.8 million steps of one group, 8,175 of 1,024.
      auto one = FromJson<v1::PreviewScheduleRequest>(
          R"({"spec": {"cosine_annealing_lr": {"t_max": 100000}}, "base_lrs": [0.1],
              "steps": 2796000})");
      auto wide = FromJson<v1::PreviewScheduleRequest>(
          R"({"spec": {"cosine_annealing_lr": {"t_max": 1000}}, "steps": 8170})");
      for (int g = 0; g < 1024; ++g) wide.add_base_lrs(0.1);
      for (int i = c; phase.load() == kLoaded; ++i) {
        grpc::ClientContext context;
        v1::PreviewScheduleResponse response;
        const grpc::Status status =
            previewer->PreviewSchedule(&context, i % 2 == 0 ? one : wide, &response);
        if (status.ok()) {
          ++previews;
        } else if (status.error_code() == grpc::RESOURCE_EXHAUSTED) {
          ++previews_refused;
        } else {
          Die(absl::StrCat("PreviewSchedule: ", status.error_message()));
        }
      }
    });
  }
  absl::SleepFor(absl::GetFlag(FLAGS_duration));
  phase = kStop;
  for (auto& client : clients) client.join();
  trainer.join();
  prober.join();
  for (auto& call : parked) call->context.TryCancel();
  parked_done.WaitForNotification();
  int64_t watched = 0;
  for (auto& watcher : watchers) {
    watcher->Stop();
    watched += watcher->events();
  }
  const int64_t slow_events = slow->events();
  const int64_t slow_restarts = slow->restarts();
  slow.reset();

  RunResult result;
  result.quiet_p50 = quiet.Percentile(0.5);
  result.quiet_p99 = quiet.Percentile(0.99);
  result.quiet_max = quiet.Percentile(1);
  result.loaded_p50 = loaded.Percentile(0.5);
  result.loaded_p99 = loaded.Percentile(0.99);
  result.loaded_max = loaded.Percentile(1);
  result.health_p99 = health_latency.Percentile(0.99);
  result.health_max = health_latency.Percentile(1);
  result.far_computed = far_computed;
  result.far_refused = far_refused;
  result.previews = previews;
  result.previews_refused = previews_refused;
  result.watched = watched;
  result.slow_events = slow_events;
  result.slow_restarts = slow_restarts;
  result.peak_bytes = ReadProcessStats(server.pid()).peak_resident_bytes;
  std::printf(
      "run: normal Step p50/p99/max %.0f/%.0f/%.0f us alone (%zu calls), %.0f/%.0f/%.0f us "
      "under load (%zu calls); health p99/max %.0f/%.0f us; far Steps computed %lld, refused "
      "%lld; previews %lld, refused %lld; watchers read %lld events, the slow one %lld (%lld "
      "restarts from the latest); peak RSS %.0f MiB, budget %.0f MiB\n",
      result.quiet_p50, result.quiet_p99, result.quiet_max, quiet.us.size(), result.loaded_p50,
      result.loaded_p99, result.loaded_max, loaded.us.size(), result.health_p99,
      result.health_max, static_cast<long long>(result.far_computed),
      static_cast<long long>(result.far_refused), static_cast<long long>(result.previews),
      static_cast<long long>(result.previews_refused), static_cast<long long>(result.watched),
      static_cast<long long>(result.slow_events), static_cast<long long>(result.slow_restarts),
      static_cast<double>(result.peak_bytes) / (1 << 20), static_cast<double>(budget) / (1 << 20));
  if (result.peak_bytes > budget && absl::GetFlag(FLAGS_fail_over_budget)) {
    Die("the server's peak resident memory passed its budget");
  }
  return result;
}

}  // namespace
}  // namespace lrsched::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using lrsched::bench::Median;
  std::vector<double> quiet_p99, loaded_p99, loaded_max, health_p99, peak;
  for (int run = 0; run < absl::GetFlag(FLAGS_runs); ++run) {
    const auto result = lrsched::bench::RunOnce();
    quiet_p99.push_back(result.quiet_p99);
    loaded_p99.push_back(result.loaded_p99);
    loaded_max.push_back(result.loaded_max);
    health_p99.push_back(result.health_p99);
    peak.push_back(static_cast<double>(result.peak_bytes) / (1 << 20));
  }
  std::printf(
      "median of %d: normal Step p99 %.0f us alone, %.0f us under load (max %.0f us); health "
      "p99 %.0f us; peak RSS %.0f MiB of a %.0f MiB budget\n",
      absl::GetFlag(FLAGS_runs), Median(quiet_p99), Median(loaded_p99), Median(loaded_max),
      Median(health_p99), Median(peak),
      static_cast<double>(absl::GetFlag(FLAGS_memory_budget)) / (1 << 20));
  return 0;
}
