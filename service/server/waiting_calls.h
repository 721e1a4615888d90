// The service's unary calls that wait for their job to answer: a change (or a
// Step that raises the handed-out step) waiting for the store to make it
// durable. A draining server ends those still waiting at its deadline itself,
// so that gRPC never cancels one of ours: to most clients CANCELLED means
// "the caller cancelled" and they give up, where UNAVAILABLE says "retry".
//
// A parked Step is not one of these: Job::Close ends it (and the Step's
// reactor counts it here, for the drain's summary).
//
// Thread-safe. The hot path (Begin, Wait, Call::Claim) takes only one of
// several shard locks, and only when the job answers after the call returned.
#ifndef LRSCHED_SERVICE_SERVER_WAITING_CALLS_H_
#define LRSCHED_SERVICE_SERVER_WAITING_CALLS_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "service/common/mutex.h"

namespace lrsched {

// UNAVAILABLE: what a shutting-down server answers instead of what a call
// asked for; the client retries (with the restarted server). The jobs are
// closed with it, and a draining server ends waiting calls with it.
absl::Status ShuttingDownError();

class WaitingCalls {
 public:
  // What ending a call at the deadline tells the client.
  enum class OnDrain {
    // ShuttingDownError: repeating the call is harmless, even if the change
    // it asked for does become durable.
    kRetry,
    // DEADLINE_EXCEEDED: the change may or may not take effect, and a second
    // call would apply it again (an override).
    kUnknownOutcome,
  };

  // One call, shared by the job's answer and the drain.
  class Call {
   public:
    // The job answered: true if the caller now finishes the call (and may
    // write its response), false if the drain ended it (touch nothing of the
    // call then: its reactor may be gone).
    bool Claim();
    // The job answered with `status`: ends the call with it, as the drain
    // would (Begin's `end`), unless the drain ended it.
    void Finish(const absl::Status& status) {
      if (Claim()) std::move(end_)(status);
    }

    // For std::make_shared only: calls are made by Begin.
    class Passkey {
      friend class WaitingCalls;
      Passkey() = default;
    };
    using End = absl::AnyInvocable<void(const absl::Status&) &&>;
    Call(Passkey, WaitingCalls* owner, End end, OnDrain on_drain)
        : owner_(owner), end_(std::move(end)), on_drain_(on_drain) {}

   private:
    friend class WaitingCalls;
    enum State : int { kAsking, kWaiting, kFinished };
    WaitingCalls* const owner_;
    End end_;
    const OnDrain on_drain_;
    std::atomic<int> state_{kAsking};
    // While kWaiting: in the owner's shard list, holding itself alive.
    Call* previous_ = nullptr;
    Call* next_ = nullptr;
    std::shared_ptr<Call> self_;
  };

  WaitingCalls() = default;
  WaitingCalls(const WaitingCalls&) = delete;
  WaitingCalls& operator=(const WaitingCalls&) = delete;

  // A call about to ask its job. Should the drain end it, `end` runs (once,
  // on the drain's thread) with the status `on_drain` says.
  std::shared_ptr<Call> Begin(Call::End end, OnDrain on_drain);
  // The job has the call and has written all it writes before answering:
  // from now on the drain may end it. If the job answered already, nothing;
  // if the drain is over, ends it at once.
  void Wait(std::shared_ptr<Call> call);

  // The drain: blocks until no call waits or `deadline` passes.
  void AwaitNone(absl::Time deadline);
  // Ends every waiting call, and every call that starts waiting later, with
  // its drain status. Returns how many it ended.
  int64_t EndAll();

  // Calls waiting now.
  int64_t size() const { return waiting_.load(); }

  // Parked Steps that their job ended with an error (Job::Close).
  void CountParkedStepEnded() { parked_steps_ended_.fetch_add(1, std::memory_order_relaxed); }
  int64_t parked_steps_ended() const {
    return parked_steps_ended_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    Mutex mu;
    Call* head ABSL_GUARDED_BY(mu) = nullptr;
  };
  Shard& ShardOf(const Call* call);
  static absl::Status DrainStatus(OnDrain on_drain);
  // Takes `call` off its shard's list; returns the reference the list held.
  std::shared_ptr<Call> Unlink(Shard& shard, Call* call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  std::array<Shard, kShards> shards_;
  std::atomic<int64_t> waiting_{0};
  std::atomic<bool> ended_{false};
  std::atomic<int64_t> parked_steps_ended_{0};
  // Only while a drain waits: the last call to leave wakes it. Standard
  // primitives: ThreadSanitizer sees them (see service/common/mutex.h).
  std::atomic<bool> draining_{false};
  std::mutex drain_mu_;
  std::condition_variable drained_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_WAITING_CALLS_H_
