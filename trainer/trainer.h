// Data-parallel training on one rank: every epoch takes its learning rates
// from a LearningRateSource, trains on the rank's shard with gradients
// averaged over the ranks every batch, validates on the rank's validation
// shard and reports that loss with its example count as the weight, so that
// the service's weighted mean is the loss on the whole validation set.
#ifndef LRSCHED_TRAINER_TRAINER_H_
#define LRSCHED_TRAINER_TRAINER_H_

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "trainer/dataset.h"
#include "trainer/learning_rate_source.h"
#include "trainer/model.h"
#include "trainer/mpi_communicator.h"
#include "trainer/optimizer.h"

namespace lrsched::trainer {

struct TrainerOptions {
  int epochs = 20;
  // Examples per batch on each rank.
  int batch_size = 64;
  uint64_t seed = 1;
};

// One epoch as every rank sees it (losses and accuracy over all ranks).
struct EpochResult {
  int epoch = 0;
  double train_loss = 0;
  double validation_loss = 0;
  double validation_accuracy = 0;
  StepRates rates;
  // The epoch's rates are below the previous epoch's.
  bool reduced = false;
  double samples_per_second = 0;
};

class Trainer {
 public:
  // `train` and `validation` are this rank's shards; `min_train_size` the
  // smallest training shard of any rank, so that all take the same batches.
  Trainer(const MpiCommunicator& communicator, const Mlp& model, Optimizer& optimizer,
          LearningRateSource& rates, Dataset train, Dataset validation,
          Eigen::Index min_train_size, const TrainerOptions& options);

  // Trains every epoch; `on_epoch` runs on every rank after each.
  absl::Status Run(const std::function<void(const EpochResult&)>& on_epoch);

  const Eigen::VectorXd& parameters() const { return parameters_; }

 private:
  const MpiCommunicator& communicator_;
  const Mlp& model_;
  Optimizer& optimizer_;
  LearningRateSource& rates_;
  const Dataset train_;
  const Dataset validation_;
  const Eigen::Index batches_;
  const TrainerOptions options_;
  Eigen::VectorXd parameters_;
};

}  // namespace lrsched::trainer

#endif  // LRSCHED_TRAINER_TRAINER_H_
