#include "service/server/metrics.h"

#include <chrono>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "grpcpp/support/status.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"
#include "lrsched/v1/scheduler_service.grpc.pb.h"
#include "service/job/scheduler_names.h"

namespace lrsched {
namespace {

const char* const kCodeNames[] = {
    "OK",          "CANCELLED",        "UNKNOWN",           "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL",       "UNAVAILABLE",       "DATA_LOSS",
    "UNAUTHENTICATED"};

const std::vector<double>& LatencyBounds() {
  static const std::vector<double> bounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                             0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                             0.5,     1,      2.5,     5,      10,    30};
  return bounds;
}

prometheus::ClientMetric HistogramMetric(const AtomicHistogram::Snapshot& snapshot,
                                         std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.histogram.sample_count = snapshot.count;
  metric.histogram.sample_sum = snapshot.sum;
  for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    metric.histogram.bucket.push_back(
        {snapshot.cumulative[i], i < snapshot.bounds.size()
                                     ? snapshot.bounds[i]
                                     : std::numeric_limits<double>::infinity()});
  }
  return metric;
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

// One per call: the time from its start to the status it sends.
class CallTimer : public grpc::experimental::Interceptor {
 public:
  CallTimer(ServerMetrics* metrics, int method)
      : metrics_(metrics), method_(method), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const int code = methods->GetSendStatus().error_code();
      metrics_->RecordCall(
          method_, code,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
    methods->Proceed();
  }

 private:
  ServerMetrics* const metrics_;
  const int method_;
  const std::chrono::steady_clock::time_point start_;
};

class CallTimerFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallTimerFactory(ServerMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallTimer(metrics_, metrics_->MethodIndex(info->method()));
  }

 private:
  ServerMetrics* const metrics_;
};

}  // namespace

ServerMetrics::ServerMetrics(const JobRegistry* registry, const EventStore::Stats* store_stats,
                             const MemoryBudget* budget, bool per_job_gauges)
    : registry_(registry),
      store_stats_(store_stats),
      budget_(budget),
      per_job_gauges_(per_job_gauges) {
  const auto* service = v1::SchedulerService::service_full_name();
  const auto* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
  for (int i = 0; descriptor != nullptr && i < descriptor->method_count(); ++i) {
    methods_.push_back(absl::StrCat("/", service, "/", descriptor->method(i)->name()));
  }
  methods_.push_back("/grpc.health.v1.Health/Check");
  methods_.push_back("/grpc.health.v1.Health/Watch");
  methods_.push_back("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
  methods_.push_back("other");
  for (size_t i = 0; i < methods_.size(); ++i) method_index_[methods_[i]] = static_cast<int>(i);
  for (size_t i = 0; i < methods_.size() * kCodes; ++i) {
    calls_.push_back(std::make_unique<AtomicHistogram>(LatencyBounds()));
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ServerMetrics::InterceptorFactory() {
  return std::make_unique<CallTimerFactory>(this);
}

int ServerMetrics::MethodIndex(const char* method) const {
  const auto it = method_index_.find(method == nullptr ? "" : method);
  return it != method_index_.end() ? it->second : static_cast<int>(methods_.size()) - 1;
}

void ServerMetrics::RecordCall(int method, int code, double seconds) {
  if (code < 0 || code >= kCodes) code = grpc::StatusCode::UNKNOWN;
  calls_[method * kCodes + code]->Observe(seconds);
}

std::vector<prometheus::MetricFamily> ServerMetrics::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  auto durations = Family("lrsched_rpc_duration_seconds",
                          "gRPC calls from their start to the status sent, by method and code",
                          prometheus::MetricType::Histogram);
  auto totals = Family("lrsched_rpcs_total", "gRPC calls ended, by method and code",
                       prometheus::MetricType::Counter);
  for (size_t m = 0; m < methods_.size(); ++m) {
    for (int code = 0; code < kCodes; ++code) {
      const auto snapshot = calls_[m * kCodes + code]->Read();
      if (snapshot.count == 0) continue;  // only the series that happened
      std::vector<prometheus::ClientMetric::Label> labels = {{"method", methods_[m]},
                                                             {"code", kCodeNames[code]}};
      durations.metric.push_back(HistogramMetric(snapshot, labels));
      prometheus::ClientMetric total;
      total.label = labels;
      total.counter.value = static_cast<double>(snapshot.count);
      totals.metric.push_back(std::move(total));
    }
  }
  families.push_back(std::move(durations));
  families.push_back(std::move(totals));

  std::map<std::string, int> jobs_by_scheduler;
  int64_t parked = 0, pending = 0;
  auto learning_rates = Family("lrsched_job_learning_rate",
                               "Each job's learning rate at its latest computed step",
                               prometheus::MetricType::Gauge);
  std::string after;
  bool more = true;
  while (more) {
    const auto jobs = registry_->List(after, 1000, &more);
    for (const auto& listed : jobs) {
      const std::shared_ptr<Job>& job = listed.job;
      if (job == nullptr) continue;
      const Job::Gauges gauges = job->gauges();
      ++jobs_by_scheduler[SchedulerClassName(gauges.scheduler)];
      parked += gauges.waiting_steps;
      pending += gauges.pending_reports;
      for (size_t g = 0; per_job_gauges_ && g < gauges.lrs.size(); ++g) {
        prometheus::ClientMetric rate;
        rate.label = {{"job", job->id()}, {"group", absl::StrCat(g)}};
        rate.gauge.value = gauges.lrs[g];
        learning_rates.metric.push_back(std::move(rate));
      }
    }
    if (!jobs.empty()) after = jobs.back().id;
  }
  auto jobs = Family("lrsched_jobs", "Jobs held, by scheduler", prometheus::MetricType::Gauge);
  for (const auto& [scheduler, count] : jobs_by_scheduler) {
    prometheus::ClientMetric metric;
    metric.label = {{"scheduler", scheduler}};
    metric.gauge.value = count;
    jobs.metric.push_back(std::move(metric));
  }
  families.push_back(std::move(jobs));
  const auto gauge = [&](std::string name, std::string help, double value) {
    auto family = Family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
    prometheus::ClientMetric metric;
    metric.gauge.value = value;
    family.metric.push_back(std::move(metric));
    families.push_back(std::move(family));
  };
  gauge("lrsched_parked_steps", "Step calls waiting for undecided steps",
        static_cast<double>(parked));
  gauge("lrsched_pending_reports", "Metric reports waiting for the other workers' of their step",
        static_cast<double>(pending));
  gauge("lrsched_damaged_jobs",
        "Jobs whose log could not be rebuilt at start, kept untouched and not served",
        static_cast<double>(registry_->damaged()));
  gauge("lrsched_recovery_seconds", "Time the server took to rebuild its jobs at start",
        recovery_seconds_);
  gauge("lrsched_auth_enabled",
        "1 when callers must authenticate (--auth_tokens_file); 0: anyone who reaches the port "
        "may do anything",
        auth_enabled_ ? 1.0 : 0.0);
  gauge("lrsched_memory_budget_bytes",
        "What jobs and previews in flight may take together (--memory_budget)",
        static_cast<double>(budget_->limit()));
  gauge("lrsched_memory_charged_bytes",
        "Charged to the budget: every job for its largest size, and previews in flight",
        static_cast<double>(budget_->charged()));
  if (store_stats_ != nullptr) {
    auto commit = Family("lrsched_store_commit_seconds",
                         "Group commits of the state file, from start to durable",
                         prometheus::MetricType::Histogram);
    commit.metric.push_back(HistogramMetric(store_stats_->commit_seconds.Read(), {}));
    families.push_back(std::move(commit));
    auto batch = Family("lrsched_store_commit_operations",
                        "Appends and deletions written by one group commit",
                        prometheus::MetricType::Histogram);
    batch.metric.push_back(HistogramMetric(store_stats_->batch_operations.Read(), {}));
    families.push_back(std::move(batch));
  }
  if (per_job_gauges_) families.push_back(std::move(learning_rates));
  return families;
}

}  // namespace lrsched
