// lrsched::WorkerSchedule: one worker's view of one job, shaped like a PyTorch
// scheduler. Step() gives the learning rates of the next step and advances;
// ReportMetric() reports the metric of the step last given.
//
// It asks the server for a window of `look_ahead` steps at a time and serves
// later steps from it, so a schedule without metrics costs about one RPC per
// window. Through its Client it rides out server restarts, a SIGTERM drain
// included: Step and ReportMetric are idempotent per (rank, step), so every
// transient outcome (UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED) is asked
// again until the Client's give_up_after. Not thread-safe: one per worker and
// job.
#ifndef LRSCHED_CLIENT_WORKER_SCHEDULE_H_
#define LRSCHED_CLIENT_WORKER_SCHEDULE_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lrsched/client.h"

namespace lrsched {

struct StepRates {
  int64_t step = 0;
  // Learning rate of each parameter group.
  std::vector<double> lrs;
  // Momentum (SGD) or beta1 (Adam) of each group; empty unless the schedule
  // cycles momentum.
  std::vector<double> momentums;
};

class WorkerSchedule {
 public:
  // `client` must outlive the schedule. The first Step() gives `first_step`.
  WorkerSchedule(Client& client, std::string job_id, int rank, int64_t look_ahead = 1000,
                 int64_t first_step = 0);

  // The rates of the next step. Blocks while that step is undecided (its
  // metric not yet reported by every worker) and while the server is away.
  // The server's other errors as they are.
  absl::StatusOr<StepRates> Step();

  // Reports the metric of the step Step() gave last. FAILED_PRECONDITION
  // before the first Step().
  absl::StatusOr<v1::ReportMetricResponse> ReportMetric(double value, double weight = 1);

  // The step Step() gave last; -1 before the first.
  int64_t step() const { return next_step_ - 1; }
  // Step RPCs made so far.
  int64_t step_rpcs() const { return step_rpcs_; }

 private:
  Client& client_;
  const std::string job_id_;
  const int rank_;
  const int64_t look_ahead_;
  int64_t next_step_;
  std::deque<StepRates> window_;
  int64_t step_rpcs_ = 0;
};

}  // namespace lrsched

#endif  // LRSCHED_CLIENT_WORKER_SCHEDULE_H_
