// The solvers of lrsched-trainer, with PyTorch's update rules: SGD, SGD with
// momentum, and Adam. Each step takes the learning rate of every parameter
// group and, where the schedule cycles it, the momentum (SGD's momentum,
// Adam's beta1), as PyTorch does after a scheduler changed param_groups.
#ifndef LRSCHED_TRAINER_OPTIMIZER_H_
#define LRSCHED_TRAINER_OPTIMIZER_H_

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "trainer/model.h"

namespace lrsched::trainer {

enum class Solver { kSgd, kMomentum, kAdam };

struct SolverOptions {
  Solver solver = Solver::kSgd;
  // SGD's momentum, or Adam's beta1, when the schedule does not set it.
  double momentum = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

class Optimizer {
 public:
  Optimizer(const SolverOptions& options, std::vector<ParameterGroup> groups,
            Eigen::Index num_parameters);

  // One update of `parameters` by `gradient`. `lrs` has one value per group;
  // `momentums` one per group, or is empty to use the options' value.
  void Step(Eigen::Ref<Eigen::VectorXd> parameters,
            const Eigen::Ref<const Eigen::VectorXd>& gradient, absl::Span<const double> lrs,
            absl::Span<const double> momentums);

 private:
  const SolverOptions options_;
  const std::vector<ParameterGroup> groups_;
  Eigen::VectorXd first_;   // SGD's momentum buffer, or Adam's first moment
  Eigen::VectorXd second_;  // Adam's second moment
  int64_t steps_ = 0;
};

}  // namespace lrsched::trainer

#endif  // LRSCHED_TRAINER_OPTIMIZER_H_
