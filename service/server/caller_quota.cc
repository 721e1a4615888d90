#include "service/server/caller_quota.h"

namespace lrsched {

bool CallerQuota::TryAcquire(const std::string& caller) {
  MutexLock lock(&mu_);
  int64_t& held = held_[caller];
  if (limit_ > 0 && held >= limit_) return false;
  ++held;
  return true;
}

void CallerQuota::Release(const std::string& caller) {
  MutexLock lock(&mu_);
  const auto found = held_.find(caller);
  if (found == held_.end()) return;
  if (--found->second <= 0) held_.erase(found);
}

int64_t CallerQuota::held(const std::string& caller) const {
  MutexLock lock(&mu_);
  const auto found = held_.find(caller);
  return found == held_.end() ? 0 : found->second;
}

}  // namespace lrsched
