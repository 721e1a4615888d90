#include "service/job/value_window.h"

#include <algorithm>

namespace lrsched {

ValueWindow::ValueWindow(size_t num_groups, bool momentums, int64_t capacity)
    : num_groups_(num_groups),
      stride_(num_groups * (momentums ? 2 : 1)),
      capacity_(std::max<int64_t>(capacity, 1)) {}

void ValueWindow::Append(const std::vector<double>& lrs, const std::vector<double>& momentums) {
  if (count_ < capacity_) {
    const size_t full = static_cast<size_t>(capacity_) * stride_;
    if (values_.size() + stride_ > values_.capacity()) {
      values_.reserve(std::min(full, std::max(2 * values_.capacity(), stride_)));
    }
    values_.insert(values_.end(), lrs.begin(), lrs.end());
    values_.insert(values_.end(), momentums.begin(), momentums.end());
    ++count_;
    return;
  }
  auto it = values_.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(head_) * stride_);
  it = std::copy(lrs.begin(), lrs.end(), it);
  std::copy(momentums.begin(), momentums.end(), it);
  head_ = (head_ + 1) % capacity_;
  ++first_;
}

size_t ValueWindow::Offset(int64_t step) const {
  return static_cast<size_t>((head_ + step - first_) % capacity_) * stride_;
}

void ValueWindow::ReplaceLast(const std::vector<double>& lrs,
                              const std::vector<double>& momentums) {
  auto it = values_.begin() + static_cast<std::ptrdiff_t>(Offset(last()));
  it = std::copy(lrs.begin(), lrs.end(), it);
  std::copy(momentums.begin(), momentums.end(), it);
}

void ValueWindow::Fill(int64_t step, v1::StepValues* values) const {
  values->set_step(step);
  const auto it = values_.begin() + static_cast<std::ptrdiff_t>(Offset(step));
  values->mutable_lrs()->Add(it, it + static_cast<std::ptrdiff_t>(num_groups_));
  if (stride_ > num_groups_) {
    values->mutable_momentums()->Add(it + static_cast<std::ptrdiff_t>(num_groups_),
                                     it + static_cast<std::ptrdiff_t>(stride_));
  }
}

}  // namespace lrsched
