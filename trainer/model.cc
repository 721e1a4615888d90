#include "trainer/model.h"

#include <cmath>
#include <random>

namespace lrsched::trainer {
namespace {

using Eigen::Index;
using ConstMatrixMap = Eigen::Map<const Eigen::MatrixXd>;
using MatrixMap = Eigen::Map<Eigen::MatrixXd>;

// Rows of logits -> rows of probabilities, stable against overflow.
void Softmax(Eigen::MatrixXd& logits) {
  for (Index i = 0; i < logits.rows(); ++i) {
    logits.row(i).array() -= logits.row(i).maxCoeff();
    logits.row(i) = logits.row(i).array().exp();
    logits.row(i) /= logits.row(i).sum();
  }
}

}  // namespace

Mlp::Mlp(const ModelShape& shape) : shape_(shape) {
  const Index first_out = shape.hidden > 0 ? shape.hidden : shape.classes;
  Index offset = 0;
  groups_.push_back({offset, (shape.inputs + 1) * first_out});
  offset += groups_.back().size;
  if (shape.hidden > 0) {
    groups_.push_back({offset, (shape.hidden + 1) * shape.classes});
    offset += groups_.back().size;
  }
  num_parameters_ = offset;
}

Eigen::VectorXd Mlp::Initialize(uint64_t seed) const {
  std::mt19937_64 random(seed);
  Eigen::VectorXd parameters = Eigen::VectorXd::Zero(num_parameters_);
  Index fan_in = shape_.inputs;
  for (const ParameterGroup& group : groups_) {
    const Index outputs = group.size / (fan_in + 1);
    const double scale = 1.0 / std::sqrt(static_cast<double>(fan_in));
    // Weights first (fan_in x outputs, column-major), then the biases: zero.
    for (Index i = 0; i < fan_in * outputs; ++i) {
      const double uniform = (static_cast<double>(random() >> 11) + 0.5) * 0x1p-53;
      parameters(group.begin + i) = scale * (2 * uniform - 1);
    }
    fan_in = outputs;
  }
  return parameters;
}

Eigen::MatrixXd Mlp::Forward(const Eigen::Ref<const Eigen::VectorXd>& parameters,
                             const Eigen::Ref<const Eigen::MatrixXd>& features,
                             Eigen::MatrixXd* hidden) const {
  Index fan_in = shape_.inputs;
  Eigen::MatrixXd activations = features;
  for (size_t layer = 0; layer < groups_.size(); ++layer) {
    const ParameterGroup& group = groups_[layer];
    const Index outputs = group.size / (fan_in + 1);
    ConstMatrixMap weights(parameters.data() + group.begin, fan_in, outputs);
    Eigen::Map<const Eigen::RowVectorXd> bias(parameters.data() + group.begin + fan_in * outputs,
                                              outputs);
    Eigen::MatrixXd next = (activations * weights).rowwise() + bias;
    if (layer + 1 < groups_.size()) {
      next = next.array().tanh();
      if (hidden != nullptr) *hidden = next;
    }
    activations = std::move(next);
    fan_in = outputs;
  }
  Softmax(activations);
  return activations;
}

double Mlp::LossAndGradient(const Eigen::Ref<const Eigen::VectorXd>& parameters,
                            const Eigen::Ref<const Eigen::MatrixXd>& features,
                            const Eigen::Ref<const Eigen::VectorXi>& labels,
                            Eigen::Ref<Eigen::VectorXd> gradient) const {
  const Index n = features.rows();
  Eigen::MatrixXd hidden;
  Eigen::MatrixXd delta = Forward(parameters, features, &hidden);
  double loss = 0;
  for (Index i = 0; i < n; ++i) {
    loss -= std::log(std::max(delta(i, labels(i)), 1e-300));
    delta(i, labels(i)) -= 1;
  }
  delta /= static_cast<double>(n);
  // Back through the layers: the output layer reads the hidden activations
  // (or the features), the hidden layer the features.
  const bool has_hidden = groups_.size() == 2;
  const Eigen::Ref<const Eigen::MatrixXd> last_input =
      has_hidden ? Eigen::Ref<const Eigen::MatrixXd>(hidden) : features;
  const ParameterGroup& out = groups_.back();
  const Index out_in = last_input.cols();
  MatrixMap(gradient.data() + out.begin, out_in, shape_.classes) = last_input.transpose() * delta;
  Eigen::Map<Eigen::RowVectorXd>(gradient.data() + out.begin + out_in * shape_.classes,
                                 shape_.classes) = delta.colwise().sum();
  if (has_hidden) {
    ConstMatrixMap out_weights(parameters.data() + out.begin, shape_.hidden, shape_.classes);
    const Eigen::MatrixXd back =
        ((delta * out_weights.transpose()).array() * (1 - hidden.array().square())).matrix();
    const ParameterGroup& first = groups_.front();
    MatrixMap(gradient.data() + first.begin, shape_.inputs, shape_.hidden) =
        features.transpose() * back;
    Eigen::Map<Eigen::RowVectorXd>(gradient.data() + first.begin + shape_.inputs * shape_.hidden,
                                   shape_.hidden) = back.colwise().sum();
  }
  return loss / static_cast<double>(n);
}

Mlp::Evaluation Mlp::Evaluate(const Eigen::Ref<const Eigen::VectorXd>& parameters,
                              const Eigen::Ref<const Eigen::MatrixXd>& features,
                              const Eigen::Ref<const Eigen::VectorXi>& labels) const {
  Evaluation evaluation;
  if (features.rows() == 0) return evaluation;
  const Eigen::MatrixXd probabilities = Forward(parameters, features, nullptr);
  for (Index i = 0; i < features.rows(); ++i) {
    Index predicted;
    probabilities.row(i).maxCoeff(&predicted);
    evaluation.correct += predicted == labels(i);
    evaluation.loss_sum -= std::log(std::max(probabilities(i, labels(i)), 1e-300));
  }
  evaluation.count = features.rows();
  return evaluation;
}

}  // namespace lrsched::trainer
