// The last events of one job, for WatchJob, and the readers waiting for the
// next one. A reader gets only events that are durable: an event that a crash
// could take back (and that a restarted server could replace with another
// under the same sequence number) never leaves the server.
//
// The creation event (sequence 1) is not kept: the job rebuilds it when it is
// read (every job has one, and few are read). The others are kept serialized:
// a parsed event holds several allocations, and most kept events are never
// read.
//
// Not thread-safe: owned by a Job, under its lock. Wake callbacks are handed
// back to the caller to run after it releases the lock.
#ifndef LRSCHED_SERVICE_JOB_RETAINED_EVENTS_H_
#define LRSCHED_SERVICE_JOB_RETAINED_EVENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "lrsched/v1/event.pb.h"
#include "service/common/sliding_vector.h"

namespace lrsched {

class RetainedEvents {
 public:
  using Wake = absl::AnyInvocable<void() &&>;

  // Keeps the last `max_events` events.
  explicit RetainedEvents(int64_t max_events) : max_events_(max_events) {}

  // Counts an event just applied (sequence last() + 1) and, with `retain`,
  // keeps it. Replay retains only the last max_events events of a log.
  void Keep(const v1::JobEvent& event, bool retain = true);
  // The job's latest event, durable or not.
  int64_t last() const { return last_; }

  // Every event up to `sequence` is durable. Returns the readers to wake.
  std::vector<Wake> MarkDurable(int64_t sequence);
  int64_t durable() const { return durable_; }

  // Appends the durable events with sequence >= from_sequence, at most
  // `max`, to `out`; `creation` rebuilds event 1. OUT_OF_RANGE naming the
  // first kept event when from_sequence is older.
  absl::Status Read(int64_t from_sequence, size_t max,
                    absl::FunctionRef<v1::JobEvent()> creation,
                    std::vector<v1::JobEvent>* out) const;

  // Parks `wake` until an event with sequence >= from_sequence is durable.
  // Returns an id for Cancel, or 0 without parking when one is already.
  uint64_t Wait(int64_t from_sequence, Wake wake);
  // true if the reader was still parked (its wake will never run).
  bool Cancel(uint64_t id) { return waiting_.erase(id) > 0; }
  // Every parked reader, e.g. when the job closes.
  std::vector<Wake> TakeAll();

  // Serialized bytes of every event kept so far, retained or not.
  int64_t total_bytes() const { return total_bytes_; }

 private:
  // The first retained event (1 while the creation is retained).
  int64_t first() const;

  const int64_t max_events_;
  // Events first_stored_ .. last_, after the creation.
  SlidingVector<std::string> stored_;
  int64_t first_stored_ = 2;
  int64_t last_ = 0;
  int64_t durable_ = 0;
  int64_t total_bytes_ = 0;
  uint64_t next_wait_id_ = 1;
  // By id: the sequence each reader waits for, and its wake.
  struct Waiting {
    int64_t from_sequence;
    Wake wake;
  };
  absl::flat_hash_map<uint64_t, Waiting> waiting_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_JOB_RETAINED_EVENTS_H_
