#include "service/server/waiting_calls.h"

#include <utility>
#include <vector>

#include "absl/hash/hash.h"

namespace lrsched {

absl::Status ShuttingDownError() {
  return absl::UnavailableError("the server is shutting down; retry");
}

absl::Status WaitingCalls::DrainStatus(OnDrain on_drain) {
  if (on_drain == OnDrain::kRetry) return ShuttingDownError();
  return absl::DeadlineExceededError(
      "the server shut down before the change was recorded: it may or may not take effect; "
      "read the job before asking again");
}

WaitingCalls::Shard& WaitingCalls::ShardOf(const Call* call) {
  return shards_[absl::Hash<const Call*>()(call) % kShards];
}

std::shared_ptr<WaitingCalls::Call> WaitingCalls::Begin(Call::End end, OnDrain on_drain) {
  return std::make_shared<Call>(Call::Passkey(), this, std::move(end), on_drain);
}

void WaitingCalls::Wait(std::shared_ptr<Call> call) {
  // The common case: the job answered before its call returned.
  if (call->state_.load(std::memory_order_acquire) == Call::kFinished) return;
  Shard& shard = ShardOf(call.get());
  {
    MutexLock lock(&shard.mu);
    int asking = Call::kAsking;
    const bool ended = ended_.load();
    if (!call->state_.compare_exchange_strong(asking, ended ? Call::kFinished : Call::kWaiting)) {
      return;  // the job answered meanwhile
    }
    if (!ended) {
      Call* raw = call.get();
      raw->self_ = std::move(call);
      raw->next_ = shard.head;
      if (shard.head != nullptr) shard.head->previous_ = raw;
      shard.head = raw;
      waiting_.fetch_add(1);
      return;
    }
  }
  std::move(call->end_)(DrainStatus(call->on_drain_));
}

bool WaitingCalls::Call::Claim() {
  int state = kAsking;
  if (state_.compare_exchange_strong(state, kFinished)) return true;
  // Ended by the drain: the owner may be gone, touch nothing.
  if (state == kFinished) return false;
  std::shared_ptr<Call> self;
  {
    Shard& shard = owner_->ShardOf(this);
    MutexLock lock(&shard.mu);
    state = kWaiting;
    if (!state_.compare_exchange_strong(state, kFinished)) return false;
    self = owner_->Unlink(shard, this);
  }
  if (owner_->waiting_.fetch_sub(1) == 1 && owner_->draining_.load()) {
    std::lock_guard<std::mutex> lock(owner_->drain_mu_);
    owner_->drained_.notify_all();
  }
  return true;
}

std::shared_ptr<WaitingCalls::Call> WaitingCalls::Unlink(Shard& shard, Call* call) {
  if (call->previous_ != nullptr) {
    call->previous_->next_ = call->next_;
  } else {
    shard.head = call->next_;
  }
  if (call->next_ != nullptr) call->next_->previous_ = call->previous_;
  call->previous_ = call->next_ = nullptr;
  return std::move(call->self_);
}

void WaitingCalls::AwaitNone(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(drain_mu_);
  draining_.store(true);
  const auto none = [this] { return waiting_.load() == 0; };
  // The far end of time would overflow the condition variable's clock.
  if (deadline == absl::InfiniteFuture()) {
    drained_.wait(lock, none);
  } else {
    drained_.wait_until(lock, absl::ToChronoTime(deadline), none);
  }
}

int64_t WaitingCalls::EndAll() {
  ended_.store(true);
  std::vector<std::shared_ptr<Call>> ended;
  for (Shard& shard : shards_) {
    MutexLock lock(&shard.mu);
    while (shard.head != nullptr) {
      Call* call = shard.head;
      call->state_.store(Call::kFinished);
      ended.push_back(Unlink(shard, call));
    }
  }
  waiting_.fetch_sub(static_cast<int64_t>(ended.size()));
  for (const auto& call : ended) std::move(call->end_)(DrainStatus(call->on_drain_));
  return static_cast<int64_t>(ended.size());
}

}  // namespace lrsched
