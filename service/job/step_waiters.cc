#include "service/job/step_waiters.h"

#include <limits>
#include <utility>

namespace lrsched {

StepWaiters::Id StepWaiters::Add(int64_t step, Callback callback) {
  const Id id = next_id_++;
  by_id_.emplace(id, Parked{step, std::move(callback)});
  by_step_.emplace(step, id);
  return id;
}

std::optional<StepWaiters::Callback> StepWaiters::Remove(Id id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  by_step_.erase({it->second.step, id});
  Callback callback = std::move(it->second.callback);
  by_id_.erase(it);
  return callback;
}

std::vector<StepWaiters::Callback> StepWaiters::TakeDecided(int64_t decided) {
  std::vector<Callback> ready;
  const auto end = by_step_.upper_bound({decided, std::numeric_limits<Id>::max()});
  for (auto it = by_step_.begin(); it != end; ++it) {
    auto parked = by_id_.find(it->second);
    ready.push_back(std::move(parked->second.callback));
    by_id_.erase(parked);
  }
  by_step_.erase(by_step_.begin(), end);
  return ready;
}

std::vector<StepWaiters::Callback> StepWaiters::TakeAll() {
  return TakeDecided(std::numeric_limits<int64_t>::max());
}

}  // namespace lrsched
