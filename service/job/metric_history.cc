#include "service/job/metric_history.h"

#include <algorithm>
#include <iterator>

namespace lrsched {

bool SameDecision(const v1::AggregatedMetric& a, const v1::AggregatedMetric& b) {
  if (a.step() != b.step() || !SameBits(a.value(), b.value()) ||
      !SameBits(a.total_weight(), b.total_weight()) || a.reduced() != b.reduced() ||
      a.lrs_size() != b.lrs_size() || !SameBits(a.plateau().best(), b.plateau().best()) ||
      a.plateau().num_bad_epochs() != b.plateau().num_bad_epochs() ||
      a.plateau().cooldown_counter() != b.plateau().cooldown_counter()) {
    return false;
  }
  for (int g = 0; g < a.lrs_size(); ++g) {
    if (!SameBits(a.lrs(g), b.lrs(g))) return false;
  }
  return true;
}

void MetricHistory::DropBefore(int64_t step) {
  while (!entries_.empty() && entries_.front().metric.step() < step) entries_.pop_front();
}

const MetricHistory::Entry* MetricHistory::Find(int64_t step) const {
  const auto it = std::lower_bound(
      entries_.begin(), entries_.end(), step,
      [](const Entry& entry, int64_t s) { return entry.metric.step() < s; });
  if (it == entries_.end() || it->metric.step() != step) return nullptr;
  return &*it;
}

bool MetricHistory::AppendShown(
    int64_t last_shown, int64_t before, size_t max_bytes,
    google::protobuf::RepeatedPtrField<v1::AggregatedMetric>* out) const {
  // A decision states the values of the step after it.
  const int64_t end_step = std::min(before, last_shown);
  const auto end = std::lower_bound(
      entries_.begin(), entries_.end(), end_step,
      [](const Entry& entry, int64_t s) { return entry.metric.step() < s; });
  auto first = end;
  size_t bytes = 0;
  while (first != entries_.begin()) {
    // The field's tag and length take a few bytes beside the message.
    const size_t size = std::prev(first)->metric.ByteSizeLong() + 4;
    if (bytes + size > max_bytes) break;
    bytes += size;
    --first;
  }
  out->Reserve(out->size() + static_cast<int>(end - first));
  for (auto it = first; it != end; ++it) *out->Add() = it->metric;
  return first != entries_.begin();
}

}  // namespace lrsched
