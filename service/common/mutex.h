// The mutex lrsched locks its state with: absl::Mutex.
//
// ThreadSanitizer cannot see Debian's prebuilt absl::Mutex (libabsl is not
// built with -fsanitize=thread, so its lock and unlock are invisible and every
// guarded access looks like a race). A ThreadSanitizer build therefore defines
// LRSCHED_STD_MUTEX and gets the same interface over std::shared_mutex, whose
// pthread calls ThreadSanitizer intercepts. Only the operations lrsched uses
// exist.
#ifndef LRSCHED_SERVICE_COMMON_MUTEX_H_
#define LRSCHED_SERVICE_COMMON_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#ifdef LRSCHED_STD_MUTEX
#include <shared_mutex>
#endif

namespace lrsched {

#ifndef LRSCHED_STD_MUTEX

using Mutex = absl::Mutex;
using MutexLock = absl::MutexLock;
using ReaderMutexLock = absl::ReaderMutexLock;

#else

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.lock_shared(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->ReaderLock();
  }
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  Mutex* const mu_;
};

#endif

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_COMMON_MUTEX_H_
