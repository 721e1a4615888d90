// SlidingVector: a vector that also drops elements from its front, in
// amortized constant time. What std::deque offers, without the 512-byte block
// a deque allocates as soon as it exists: a job keeps several such windows,
// most of them empty, and a server keeps 100,000 jobs.
#ifndef LRSCHED_SERVICE_COMMON_SLIDING_VECTOR_H_
#define LRSCHED_SERVICE_COMMON_SLIDING_VECTOR_H_

#include <cstddef>
#include <utility>
#include <vector>

namespace lrsched {

template <typename T>
class SlidingVector {
 public:
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;

  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }

  iterator begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  const_iterator end() const { return items_.end(); }

  T& operator[](size_t i) { return items_[head_ + i]; }
  const T& operator[](size_t i) const { return items_[head_ + i]; }
  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  T& back() { return items_.back(); }
  const T& back() const { return items_.back(); }

  void push_back(T value) { items_.push_back(std::move(value)); }
  template <typename Iterator>
  void append(Iterator first, Iterator last) {
    items_.insert(items_.end(), first, last);
  }

  // Drops the first `n` elements (at most size()). Invalidates iterators.
  void pop_front(size_t n = 1) {
    // What a dropped element holds elsewhere (a string's characters, a
    // message's fields) goes now, not when the storage is next compacted.
    for (size_t i = head_; i < head_ + n; ++i) items_[i] = T();
    head_ += n;
    // Moving the live elements down once the dropped ones outnumber them
    // costs each element at most one move per drop: amortized constant, and
    // the storage stays within about twice the live elements (four times,
    // counting the vector's growth).
    if (head_ >= size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

 private:
  std::vector<T> items_;
  size_t head_ = 0;  // elements before it are dropped
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_COMMON_SLIDING_VECTOR_H_
