// The model lrsched-trainer trains: a multilayer perceptron with one tanh
// hidden layer and a softmax output (hidden = 0: softmax regression), with
// the mean cross-entropy loss. Parameters live in one flat vector, so that a
// gradient is one buffer to all-reduce. Pure Eigen; no MPI, no I/O.
#ifndef LRSCHED_TRAINER_MODEL_H_
#define LRSCHED_TRAINER_MODEL_H_

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

namespace lrsched::trainer {

struct ModelShape {
  int inputs = 16;
  int hidden = 32;  // 0: no hidden layer
  int classes = 4;
};

// A slice of the flat parameter vector: one PyTorch parameter group.
struct ParameterGroup {
  Eigen::Index begin;
  Eigen::Index size;
};

class Mlp {
 public:
  explicit Mlp(const ModelShape& shape);

  Eigen::Index num_parameters() const { return num_parameters_; }
  // One group per layer (weights and biases of the layer).
  const std::vector<ParameterGroup>& groups() const { return groups_; }

  // Small random weights from `seed` (the same on every rank), zero biases.
  Eigen::VectorXd Initialize(uint64_t seed) const;

  // The mean cross-entropy of the batch; writes its gradient.
  double LossAndGradient(const Eigen::Ref<const Eigen::VectorXd>& parameters,
                         const Eigen::Ref<const Eigen::MatrixXd>& features,
                         const Eigen::Ref<const Eigen::VectorXi>& labels,
                         Eigen::Ref<Eigen::VectorXd> gradient) const;

  struct Evaluation {
    double loss_sum = 0;  // summed over the examples
    int64_t correct = 0;
    int64_t count = 0;
  };
  Evaluation Evaluate(const Eigen::Ref<const Eigen::VectorXd>& parameters,
                      const Eigen::Ref<const Eigen::MatrixXd>& features,
                      const Eigen::Ref<const Eigen::VectorXi>& labels) const;

 private:
  // Class probabilities (rows) and, with a hidden layer, its activations.
  Eigen::MatrixXd Forward(const Eigen::Ref<const Eigen::VectorXd>& parameters,
                          const Eigen::Ref<const Eigen::MatrixXd>& features,
                          Eigen::MatrixXd* hidden) const;

  const ModelShape shape_;
  Eigen::Index num_parameters_;
  std::vector<ParameterGroup> groups_;
};

}  // namespace lrsched::trainer

#endif  // LRSCHED_TRAINER_MODEL_H_
