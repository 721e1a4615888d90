#include "trainer/optimizer.h"

#include <cmath>
#include <utility>

namespace lrsched::trainer {

Optimizer::Optimizer(const SolverOptions& options, std::vector<ParameterGroup> groups,
                     Eigen::Index num_parameters)
    : options_(options),
      groups_(std::move(groups)),
      first_(Eigen::VectorXd::Zero(num_parameters)),
      second_(Eigen::VectorXd::Zero(num_parameters)) {}

void Optimizer::Step(Eigen::Ref<Eigen::VectorXd> parameters,
                     const Eigen::Ref<const Eigen::VectorXd>& gradient,
                     absl::Span<const double> lrs, absl::Span<const double> momentums) {
  ++steps_;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParameterGroup& group = groups_[g];
    const double lr = lrs[g];
    const double momentum = momentums.empty() ? options_.momentum : momentums[g];
    auto p = parameters.segment(group.begin, group.size);
    const auto grad = gradient.segment(group.begin, group.size);
    auto first = first_.segment(group.begin, group.size);
    switch (options_.solver) {
      case Solver::kSgd:
        p -= lr * grad;
        break;
      case Solver::kMomentum:
        // torch.optim.SGD: the buffer starts as the first gradient.
        if (steps_ == 1) {
          first = grad;
        } else {
          first = momentum * first + grad;
        }
        p -= lr * first;
        break;
      case Solver::kAdam: {
        // torch.optim.Adam (single tensor), with beta1 as the schedule sets it.
        auto second = second_.segment(group.begin, group.size);
        first = momentum * first + (1 - momentum) * grad;
        second = options_.beta2 * second + (1 - options_.beta2) * grad.cwiseAbs2();
        const double correction1 = 1 - std::pow(momentum, static_cast<double>(steps_));
        const double correction2 = 1 - std::pow(options_.beta2, static_cast<double>(steps_));
        const double step_size = lr / correction1;
        p.array() -= step_size * first.array() /
                     (second.array().sqrt() / std::sqrt(correction2) + options_.eps);
        break;
      }
    }
  }
}

}  // namespace lrsched::trainer
