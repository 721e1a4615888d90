#include "trainer/dataset.h"

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace lrsched::trainer {
namespace {

// A portable normal sample: std::normal_distribution differs between
// standard libraries, which would make the data differ between machines.
double Normal(std::mt19937_64& random) {
  const double u1 = (static_cast<double>(random() >> 11) + 0.5) * 0x1p-53;
  const double u2 = (static_cast<double>(random() >> 11) + 0.5) * 0x1p-53;
  return std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace

Dataset Dataset::Slice(Eigen::Index begin, Eigen::Index end) const {
  return {features.middleRows(begin, end - begin), labels.segment(begin, end - begin),
          num_classes};
}

Dataset MakeSynthetic(const SyntheticOptions& options) {
  std::mt19937_64 random(options.seed);
  Eigen::MatrixXd centres(options.num_classes, options.dimension);
  for (Eigen::Index c = 0; c < centres.rows(); ++c) {
    for (Eigen::Index d = 0; d < centres.cols(); ++d) centres(c, d) = 1.5 * Normal(random);
  }
  Dataset data{Eigen::MatrixXd(options.size, options.dimension),
               Eigen::VectorXi(options.size), options.num_classes};
  for (Eigen::Index i = 0; i < options.size; ++i) {
    const int label = static_cast<int>(random() % options.num_classes);
    data.labels(i) = label;
    for (Eigen::Index d = 0; d < options.dimension; ++d) {
      data.features(i, d) = centres(label, d) + options.noise * Normal(random);
    }
  }
  return data;
}

absl::StatusOr<Dataset> LoadCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<std::vector<double>> rows;
  std::vector<int> labels;
  std::string line;
  int line_number = 0;
  size_t width = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    std::vector<double> row;
    for (absl::string_view field : absl::StrSplit(line, ',')) {
      double value;
      if (!absl::SimpleAtod(field, &value) || !std::isfinite(value)) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ":", line_number, ": '", field, "' is not a finite number"));
      }
      row.push_back(value);
    }
    if (row.size() < 2 || (width != 0 && row.size() != width)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", line_number, ": expected ", width == 0 ? 2 : width, " columns, got ",
          row.size()));
    }
    width = row.size();
    const double label = row.back();
    if (label < 0 || label != std::floor(label) || label > 1e6) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", line_number, ": the class (last column) must be an integer >= 0"));
    }
    labels.push_back(static_cast<int>(label));
    row.pop_back();
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " holds no rows"));
  Dataset data{Eigen::MatrixXd(rows.size(), width - 1), Eigen::VectorXi(rows.size()), 0};
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t d = 0; d + 1 < width; ++d) data.features(i, d) = rows[i][d];
    data.labels(i) = labels[i];
    data.num_classes = std::max(data.num_classes, labels[i] + 1);
  }
  return data;
}

Dataset Shard(const Dataset& data, int rank, int world_size) {
  const Eigen::Index size = data.size();
  const Eigen::Index begin = size * rank / world_size;
  const Eigen::Index end = size * (rank + 1) / world_size;
  return data.Slice(begin, end);
}

Split SplitValidation(const Dataset& data, double fraction) {
  const auto cut = static_cast<Eigen::Index>(std::llround(fraction * data.size()));
  return {data.Slice(cut, data.size()), data.Slice(0, cut)};
}

}  // namespace lrsched::trainer
