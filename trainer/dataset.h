// Training data for lrsched-trainer: a deterministic synthetic classification
// problem (Gaussian clusters, one or more per class) or a CSV file, split into
// per-rank shards.
#ifndef LRSCHED_TRAINER_DATASET_H_
#define LRSCHED_TRAINER_DATASET_H_

#include <Eigen/Dense>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace lrsched::trainer {

// Examples are rows of `features`; `labels[i]` is the class of row i.
struct Dataset {
  Eigen::MatrixXd features;
  Eigen::VectorXi labels;
  int num_classes = 0;

  Eigen::Index size() const { return features.rows(); }
  // Rows [begin, end).
  Dataset Slice(Eigen::Index begin, Eigen::Index end) const;
};

struct SyntheticOptions {
  int64_t size = 4096;
  int dimension = 16;
  int num_classes = 4;
  // Standard deviation of each cluster around its centre (centres are about
  // 2 apart): larger is harder.
  double noise = 1.0;
  uint64_t seed = 1;
};

// The same options give the same data, bit for bit, on every machine.
Dataset MakeSynthetic(const SyntheticOptions& options);

// A CSV of numeric features with the class (0..k-1) in the last column, no
// header. INVALID_ARGUMENT naming the line for a malformed row; NOT_FOUND.
absl::StatusOr<Dataset> LoadCsv(const std::string& path);

// Shard `rank` of `world_size`: contiguous, sizes differing by at most one.
Dataset Shard(const Dataset& data, int rank, int world_size);

// The first `fraction` of the rows for validation, the rest for training.
struct Split {
  Dataset train;
  Dataset validation;
};
Split SplitValidation(const Dataset& data, double fraction);

}  // namespace lrsched::trainer

#endif  // LRSCHED_TRAINER_DATASET_H_
