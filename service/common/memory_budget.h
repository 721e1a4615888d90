// The memory a server may take for what callers ask of it: jobs (charged at
// creation for their largest size, so that a job once admitted never fails
// for memory mid-run) and previews (while they are built and sent). Requests
// that do not fit are refused; what is already held is never taken back.
//
// Thread-safe; lock-free.
#ifndef LRSCHED_SERVICE_COMMON_MEMORY_BUDGET_H_
#define LRSCHED_SERVICE_COMMON_MEMORY_BUDGET_H_

#include <atomic>
#include <cstdint>

namespace lrsched {

class MemoryBudget {
 public:
  explicit MemoryBudget(int64_t limit) : limit_(limit) {}

  // Charges `bytes` if they fit under the limit.
  bool TryCharge(int64_t bytes) {
    int64_t charged = charged_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ - charged) return false;
    } while (!charged_.compare_exchange_weak(charged, charged + bytes, std::memory_order_relaxed));
    return true;
  }
  // Charges `bytes` whether they fit or not: what the server already holds
  // (jobs rebuilt at start).
  void Charge(int64_t bytes) { charged_.fetch_add(bytes, std::memory_order_relaxed); }
  void Release(int64_t bytes) { charged_.fetch_sub(bytes, std::memory_order_relaxed); }

  int64_t charged() const { return charged_.load(std::memory_order_relaxed); }
  int64_t limit() const { return limit_; }

 private:
  const int64_t limit_;
  std::atomic<int64_t> charged_{0};
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_COMMON_MEMORY_BUDGET_H_
