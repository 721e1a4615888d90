// Callbacks parked on steps that are not decided yet. No gRPC here: a parked
// callback is whatever its owner wants run when the step is decided, the job
// is deleted, or the owner gives up (deadline, cancellation).
//
// Not thread-safe: owned by a Job, under its lock. Callbacks are handed back to
// the caller to run after it releases the lock.
#ifndef LRSCHED_SERVICE_JOB_STEP_WAITERS_H_
#define LRSCHED_SERVICE_JOB_STEP_WAITERS_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace lrsched {

class StepWaiters {
 public:
  // Runs with OK when the step is decided, otherwise with the reason.
  using Callback = absl::AnyInvocable<void(absl::Status) &&>;
  using Id = uint64_t;

  // Parks `callback` until `step` is decided; returns its id (never 0).
  Id Add(int64_t step, Callback callback);

  // Takes back a parked callback. nullopt if it was already taken (it has run
  // or is about to).
  std::optional<Callback> Remove(Id id);

  // Takes every callback parked on a step <= decided.
  std::vector<Callback> TakeDecided(int64_t decided);

  // Takes every callback.
  std::vector<Callback> TakeAll();

  size_t size() const { return by_id_.size(); }
  // The lowest step a callback is parked on; nullopt when none is.
  std::optional<int64_t> first_step() const {
    if (by_step_.empty()) return std::nullopt;
    return by_step_.begin()->first;
  }

 private:
  struct Parked {
    int64_t step;
    Callback callback;
  };
  Id next_id_ = 1;
  absl::flat_hash_map<Id, Parked> by_id_;
  // (step, id) of every parked callback, in step order. A btree: smaller
  // than a std::multimap when empty, which it mostly is.
  absl::btree_set<std::pair<int64_t, Id>> by_step_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_JOB_STEP_WAITERS_H_
