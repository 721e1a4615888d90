// What each caller holds of something limited (WatchJob streams), counted
// against a limit per caller, so that one client cannot take the server's
// share of every other.
//
// Thread-safe. Not on the hot path: taken when a stream opens and closes.
#ifndef LRSCHED_SERVICE_SERVER_CALLER_QUOTA_H_
#define LRSCHED_SERVICE_SERVER_CALLER_QUOTA_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "service/common/mutex.h"

namespace lrsched {

class CallerQuota {
 public:
  // 0: no limit.
  explicit CallerQuota(int64_t limit) : limit_(limit) {}

  // Counts one more for `caller`, unless it holds `limit` already.
  bool TryAcquire(const std::string& caller);
  void Release(const std::string& caller);
  int64_t limit() const { return limit_; }
  int64_t held(const std::string& caller) const;

 private:
  const int64_t limit_;
  mutable Mutex mu_;
  absl::flat_hash_map<std::string, int64_t> held_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_CALLER_QUOTA_H_
