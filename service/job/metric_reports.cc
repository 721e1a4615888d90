#include "service/job/metric_reports.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace lrsched {
bool SameBits(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool MetricReport::SameAs(const MetricReport& other) const {
  return SameBits(value, other.value) && SameBits(weight, other.weight);
}

MetricReports::AddResult MetricReports::Add(int rank, const MetricReport& report) {
  std::optional<MetricReport>& slot = reports_[rank];
  if (slot) return slot->SameAs(report) ? AddResult::kDuplicate : AddResult::kConflict;
  slot = report;
  ++count_;
  added_weight_ += report.weight;
  return AddResult::kAdded;
}

double MetricReports::Aggregate(v1::Aggregation aggregation) const {
  double sum = 0, weights = 0;
  double lowest = std::numeric_limits<double>::infinity();
  double highest = -std::numeric_limits<double>::infinity();
  bool nan = false;
  for (const auto& report : reports_) {
    if (!report) continue;
    nan |= std::isnan(report->value);
    if (aggregation == v1::MEAN) {
      sum += report->value;
      weights += 1;
    } else {
      sum += report->value * report->weight;
      weights += report->weight;
    }
    lowest = std::min(lowest, report->value);
    highest = std::max(highest, report->value);
  }
  if (nan) return std::numeric_limits<double>::quiet_NaN();
  switch (aggregation) {
    case v1::MIN:
      return lowest;
    case v1::MAX:
      return highest;
    default:
      return sum / weights;
  }
}

double MetricReports::TotalWeight() const {
  double weights = 0;
  for (const auto& report : reports_) {
    if (report) weights += report->weight;
  }
  return weights;
}

void MetricReports::Resize(int world_size) {
  for (size_t rank = world_size; rank < reports_.size(); ++rank) {
    if (!reports_[rank]) continue;
    --count_;
    added_weight_ -= reports_[rank]->weight;
  }
  reports_.resize(world_size);
}

void MetricReports::Clear() {
  for (auto& report : reports_) report.reset();
  count_ = 0;
  added_weight_ = 0;
}

}  // namespace lrsched
