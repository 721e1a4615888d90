// Where lrsched-trainer takes each epoch's learning rates from: the lrsched
// service (every rank the same values), or a scheduler of its own in each
// rank fed with that rank's own metric (what lrsched exists to replace).
#ifndef LRSCHED_TRAINER_LEARNING_RATE_SOURCE_H_
#define LRSCHED_TRAINER_LEARNING_RATE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "lrsched/client.h"
#include "lrsched/worker_schedule.h"
#include "service/schedule/schedule.h"

namespace lrsched::trainer {

class LearningRateSource {
 public:
  virtual ~LearningRateSource() = default;
  // The rates of the next epoch (the first call: epoch 0).
  virtual absl::StatusOr<StepRates> Next() = 0;
  // The validation metric of the epoch Next() gave last, with its weight.
  virtual absl::Status Report(double value, double weight) = 0;
  // Step RPCs made so far (0 for a local scheduler).
  virtual int64_t step_rpcs() const = 0;
};

// Takes the rates from the service through lrsched::WorkerSchedule; reports
// metrics only to a schedule that takes them.
class ServiceLearningRateSource final : public LearningRateSource {
 public:
  ServiceLearningRateSource(Client& client, const std::string& job_id, int rank,
                            bool takes_metric)
      : schedule_(client, job_id, rank), takes_metric_(takes_metric) {}
  absl::StatusOr<StepRates> Next() override { return schedule_.Step(); }
  absl::Status Report(double value, double weight) override {
    if (!takes_metric_) return absl::OkStatus();
    return schedule_.ReportMetric(value, weight).status();
  }
  int64_t step_rpcs() const override { return schedule_.step_rpcs(); }

 private:
  WorkerSchedule schedule_;
  const bool takes_metric_;
};

// Runs the same math in the rank itself, on the rank's own metric.
class LocalLearningRateSource final : public LearningRateSource {
 public:
  explicit LocalLearningRateSource(Schedule schedule) : schedule_(std::move(schedule)) {}
  absl::StatusOr<StepRates> Next() override;
  absl::Status Report(double value, double /*weight*/) override {
    metric_ = value;
    return absl::OkStatus();
  }
  int64_t step_rpcs() const override { return 0; }

 private:
  Schedule schedule_;
  bool started_ = false;
  std::optional<double> metric_;
};

}  // namespace lrsched::trainer

#endif  // LRSCHED_TRAINER_LEARNING_RATE_SOURCE_H_
