// The server's Prometheus metrics. The hot path only adds to atomic counters
// (AtomicHistogram): a gRPC server interceptor times every call by method and
// status code into series created up front. Gauges of the jobs are read when
// Prometheus scrapes. prometheus-cpp serves and formats them (Collect).
//
//   lrsched_rpc_duration_seconds{method,code}   histogram
//   lrsched_rpcs_total{method,code}             counter
//   lrsched_jobs{scheduler}                     gauge
//   lrsched_parked_steps                        gauge: Step calls waiting
//   lrsched_pending_reports                     gauge: reports awaiting the others
//   lrsched_store_commit_seconds                histogram
//   lrsched_store_commit_operations             histogram: appends per group commit
//   lrsched_recovery_seconds                    gauge
//   lrsched_auth_enabled                        gauge: 0 when anyone may do anything
//   lrsched_job_learning_rate{job,group}        gauge, only with per_job_gauges
#ifndef LRSCHED_SERVICE_SERVER_METRICS_H_
#define LRSCHED_SERVICE_SERVER_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/collectable.h"
#include "service/common/atomic_histogram.h"
#include "service/common/memory_budget.h"
#include "service/server/job_registry.h"
#include "service/store/event_store.h"

namespace lrsched {

class ServerMetrics : public prometheus::Collectable {
 public:
  // `registry`, `store_stats` (may be null) and `budget` outlive this.
  ServerMetrics(const JobRegistry* registry, const EventStore::Stats* store_stats,
                const MemoryBudget* budget, bool per_job_gauges);

  void set_recovery_time(absl::Duration time) { recovery_seconds_ = absl::ToDoubleSeconds(time); }
  void set_auth_enabled(bool enabled) { auth_enabled_ = enabled; }

  // Times the calls of a server built with it.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

  // One call of `method` ended with `code` after `seconds`.
  void RecordCall(int method, int code, double seconds);
  // The index of a method's series; unknown methods share "other".
  int MethodIndex(const char* method) const;

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  static constexpr int kCodes = 17;  // grpc::StatusCode 0..16

  const JobRegistry* const registry_;
  const EventStore::Stats* const store_stats_;
  const MemoryBudget* const budget_;
  const bool per_job_gauges_;
  double recovery_seconds_ = 0;
  bool auth_enabled_ = false;
  std::vector<std::string> methods_;  // "/package.Service/Method", then "other"
  absl::flat_hash_map<std::string, int> method_index_;
  // [method * kCodes + code]
  std::vector<std::unique_ptr<AtomicHistogram>> calls_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_METRICS_H_
