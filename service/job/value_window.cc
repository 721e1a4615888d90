#include "service/job/value_window.h"

#include <algorithm>

namespace lrsched {

ValueWindow::ValueWindow(size_t num_groups, bool momentums, int64_t capacity)
    : num_groups_(num_groups),
      stride_(num_groups * (momentums ? 2 : 1)),
      capacity_(std::max<int64_t>(capacity, 1)) {}

void ValueWindow::Append(const std::vector<double>& lrs, const std::vector<double>& momentums) {
  values_.append(lrs.begin(), lrs.end());
  values_.append(momentums.begin(), momentums.end());
  if (last() - first_ + 1 > capacity_) {
    values_.pop_front(stride_);
    ++first_;
  }
}

void ValueWindow::ReplaceLast(const std::vector<double>& lrs,
                              const std::vector<double>& momentums) {
  auto it = values_.end() - static_cast<std::ptrdiff_t>(stride_);
  it = std::copy(lrs.begin(), lrs.end(), it);
  std::copy(momentums.begin(), momentums.end(), it);
}

void ValueWindow::Fill(int64_t step, v1::StepValues* values) const {
  values->set_step(step);
  const auto it = values_.begin() + static_cast<std::ptrdiff_t>(
                                        static_cast<size_t>(step - first_) * stride_);
  values->mutable_lrs()->Add(it, it + static_cast<std::ptrdiff_t>(num_groups_));
  if (stride_ > num_groups_) {
    values->mutable_momentums()->Add(it + static_cast<std::ptrdiff_t>(num_groups_),
                                     it + static_cast<std::ptrdiff_t>(stride_));
  }
}

}  // namespace lrsched
