#include "trainer/model.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "trainer/dataset.h"
#include "trainer/optimizer.h"

namespace lrsched::trainer {
namespace {

SyntheticOptions Data(int64_t size, int dimension, int classes, double noise, uint64_t seed) {
  SyntheticOptions options;
  options.size = size;
  options.dimension = dimension;
  options.num_classes = classes;
  options.noise = noise;
  options.seed = seed;
  return options;
}

TEST(MlpTest, GradientMatchesFiniteDifferences) {
  for (int hidden : {0, 5}) {
    const Mlp model({6, hidden, 3});
    const Dataset data = MakeSynthetic(Data(20, 6, 3, 1.0, 7));
    const Eigen::VectorXd parameters = model.Initialize(3);
    Eigen::VectorXd gradient(model.num_parameters());
    model.LossAndGradient(parameters, data.features, data.labels, gradient);
    Eigen::VectorXd unused(model.num_parameters());
    for (Eigen::Index i = 0; i < model.num_parameters(); ++i) {
      Eigen::VectorXd plus = parameters, minus = parameters;
      plus(i) += 1e-6;
      minus(i) -= 1e-6;
      const double numeric = (model.LossAndGradient(plus, data.features, data.labels, unused) -
                              model.LossAndGradient(minus, data.features, data.labels, unused)) /
                             2e-6;
      ASSERT_NEAR(gradient(i), numeric, 1e-6) << "hidden " << hidden << ", parameter " << i;
    }
  }
}

TEST(MlpTest, OneGroupPerLayer) {
  const Mlp model({4, 8, 3});
  ASSERT_EQ(model.groups().size(), 2u);
  EXPECT_EQ(model.groups()[0].size, (4 + 1) * 8);
  EXPECT_EQ(model.groups()[1].size, (8 + 1) * 3);
  EXPECT_EQ(model.num_parameters(), 5 * 8 + 9 * 3);
  EXPECT_EQ(Mlp({4, 0, 3}).groups().size(), 1u);
}

class SolverTest : public ::testing::TestWithParam<Solver> {};

TEST_P(SolverTest, TrainingLowersTheLossAndRaisesAccuracy) {
  const Dataset data = MakeSynthetic(Data(512, 8, 4, 0.8, 11));
  const Mlp model({8, 16, 4});
  Eigen::VectorXd parameters = model.Initialize(1);
  SolverOptions solver;
  solver.solver = GetParam();
  Optimizer optimizer(solver, model.groups(), model.num_parameters());
  const auto before = model.Evaluate(parameters, data.features, data.labels);
  Eigen::VectorXd gradient(model.num_parameters());
  const double lr = GetParam() == Solver::kAdam ? 0.01 : 0.1;
  for (int step = 0; step < 200; ++step) {
    model.LossAndGradient(parameters, data.features, data.labels, gradient);
    optimizer.Step(parameters, gradient, {lr, lr}, {});
  }
  const auto after = model.Evaluate(parameters, data.features, data.labels);
  EXPECT_LT(after.loss_sum, 0.5 * before.loss_sum);
  EXPECT_GT(after.correct, 0.9 * after.count);
}

INSTANTIATE_TEST_SUITE_P(Solvers, SolverTest,
                         ::testing::Values(Solver::kSgd, Solver::kMomentum, Solver::kAdam));

TEST(DatasetTest, SyntheticDataIsTheSameForTheSameSeed) {
  const SyntheticOptions options = Data(100, 3, 2, 1.0, 5);
  const Dataset a = MakeSynthetic(options), b = MakeSynthetic(options);
  EXPECT_EQ(a.features, b.features);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_NE(MakeSynthetic(Data(100, 3, 2, 1.0, 6)).features, a.features);
}

TEST(DatasetTest, ShardsCoverEveryRowOnce) {
  const Dataset data = MakeSynthetic(Data(103, 2, 2, 1.0, 1));
  Eigen::Index total = 0;
  for (int rank = 0; rank < 4; ++rank) {
    const Dataset shard = Shard(data, rank, 4);
    EXPECT_GE(shard.size(), 25);
    EXPECT_LE(shard.size(), 26);
    EXPECT_EQ(shard.features.row(0), data.features.row(total));
    total += shard.size();
  }
  EXPECT_EQ(total, data.size());
}

}  // namespace
}  // namespace lrsched::trainer
