#include "trainer/trainer.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace lrsched::trainer {

Trainer::Trainer(const MpiCommunicator& communicator, const Mlp& model, Optimizer& optimizer,
                 LearningRateSource& rates, Dataset train, Dataset validation,
                 Eigen::Index min_train_size, const TrainerOptions& options)
    : communicator_(communicator),
      model_(model),
      optimizer_(optimizer),
      rates_(rates),
      train_(std::move(train)),
      validation_(std::move(validation)),
      batches_(std::max<Eigen::Index>(1, min_train_size / options.batch_size)),
      options_(options),
      parameters_(model.Initialize(options.seed)) {}

absl::Status Trainer::Run(const std::function<void(const EpochResult&)>& on_epoch) {
  Eigen::VectorXd gradient(model_.num_parameters());
  std::vector<double> previous_lrs;
  const Eigen::Index batch = std::min<Eigen::Index>(options_.batch_size, train_.size());
  for (int epoch = 0; epoch < options_.epochs; ++epoch) {
    auto rates = rates_.Next();
    if (!rates.ok()) return rates.status();
    const absl::Time start = absl::Now();
    double loss_sum = 0;
    for (Eigen::Index b = 0; b < batches_; ++b) {
      const Eigen::Index begin = (b * batch) % std::max<Eigen::Index>(1, train_.size() - batch + 1);
      loss_sum += model_.LossAndGradient(parameters_, train_.features.middleRows(begin, batch),
                                         train_.labels.segment(begin, batch), gradient);
      communicator_.Average(gradient);
      optimizer_.Step(parameters_, gradient, rates->lrs, rates->momentums);
    }
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const Mlp::Evaluation local =
        model_.Evaluate(parameters_, validation_.features, validation_.labels);
    if (absl::Status reported = rates_.Report(
            local.count > 0 ? local.loss_sum / static_cast<double>(local.count) : 0.0,
            static_cast<double>(local.count));
        !reported.ok()) {
      return reported;
    }
    Eigen::VectorXd totals(5);
    totals << loss_sum / static_cast<double>(batches_), local.loss_sum,
        static_cast<double>(local.correct), static_cast<double>(local.count),
        static_cast<double>(batches_ * batch) / std::max(seconds, 1e-9);
    communicator_.Sum(totals);
    EpochResult result;
    result.epoch = epoch;
    result.train_loss = totals(0) / communicator_.size();
    result.validation_loss = totals(3) > 0 ? totals(1) / totals(3) : 0;
    result.validation_accuracy = totals(3) > 0 ? totals(2) / totals(3) : 0;
    result.samples_per_second = totals(4);
    result.reduced = !previous_lrs.empty() && rates->lrs[0] < previous_lrs[0];
    previous_lrs = rates->lrs;
    result.rates = *std::move(rates);
    on_epoch(result);
  }
  return absl::OkStatus();
}

}  // namespace lrsched::trainer
