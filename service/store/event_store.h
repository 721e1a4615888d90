// The storage seam: the durable log of every job's events.
//
// A job is its events (event.proto); the store keeps them in order, keyed by
// (job id, sequence number), and gives them back on start so that every job
// can be rebuilt by replay. Implementations must pass the conformance tests in
// tests/unit/store/.
//
// Durability promise: when an Append's callback runs with OK, its events
// survive a crash of the process (and, with full sync, of the machine).
//
// Thread-safe. Append and DeleteJob never block the caller: they queue the
// work and run `done` on the store's own thread when it is durable, so that
// gRPC's callback threads never wait for a disk.
#ifndef LRSCHED_SERVICE_STORE_EVENT_STORE_H_
#define LRSCHED_SERVICE_STORE_EVENT_STORE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "lrsched/v1/event.pb.h"
#include "service/common/atomic_histogram.h"

namespace lrsched {

class EventStore {
 public:
  using Done = absl::AnyInvocable<void(absl::Status) &&>;

  virtual ~EventStore() = default;

  // Appends events of one job: consecutive sequence numbers, in order.
  //
  // A compare-and-append, the fence that keeps a job's log without holes:
  // an append whose first event is N succeeds only if the job's stored log
  // ends at event N-1 when it is written (N = 1: the job has no events), so
  // once an append of a job fails, every later append of that job fails too,
  // including those queued behind it, until the caller appends what is
  // missing. A replicated store implements the same compare (a transaction
  // on the job's head).
  //
  // `done` runs once the events are durable, with OK; FAILED_PRECONDITION
  // naming the job and the sequence its log expected, when the log does not
  // end at N-1 (an earlier append failed, event N is already stored, or the
  // job exists and N = 1); INVALID_ARGUMENT when the events are not one
  // job's consecutive sequence; or the storage error (RESOURCE_EXHAUSTED for
  // a full disk). FAILED_PRECONDITION and INVALID_ARGUMENT store nothing of
  // the append. A storage error stores nothing either as far as this store
  // can tell; where the disk may still have taken the write (a failed fsync),
  // the outcome is unknown until the log is read again, and the fence still
  // holds: nothing of the job is stored after a hole.
  //
  // Appends and deletions take effect in the order of the calls, so a caller
  // may queue a job's next append before the previous one is durable.
  virtual void Append(std::vector<v1::JobEvent> events, Done done) = 0;

  // Removes every event of a job; `done` runs once that is durable. The
  // job's next append then starts again at sequence 1.
  virtual void DeleteJob(std::string job_id, Done done) = 0;

  // Calls `visit` with each job's events in sequence order, once per job.
  // `visit` may run on several threads at once, for different jobs. Stops at,
  // and returns, the first error of `visit` or of the storage. Call it before
  // the first Append.
  // The events passed to `visit` live only during the call.
  using Visit = absl::FunctionRef<absl::Status(absl::Span<v1::JobEvent* const>)>;
  // With `damaged`, a job whose log cannot be read (an event that does not
  // parse or does not match its key) is passed to it, with DATA_LOSS naming
  // the event, instead of ending the load; its rows stay as they are.
  using Damaged = absl::FunctionRef<absl::Status(const std::string& job_id, absl::Status)>;
  virtual absl::Status LoadAll(Visit visit, Damaged damaged) = 0;
  absl::Status LoadAll(Visit visit) {
    return LoadAll(visit, [](const std::string&, absl::Status problem) { return problem; });
  }

  // Reads one job's events once every append and deletion queued before the
  // call has taken effect, and passes them (none: no such job) to `done` on
  // the store's thread; they live only during the call. For a job rebuilt
  // while the server runs, e.g. after a failed write. Errors: the storage's,
  // or DATA_LOSS for an event that does not parse.
  using Loaded = absl::AnyInvocable<void(absl::StatusOr<absl::Span<v1::JobEvent* const>>) &&>;
  virtual void LoadJob(std::string job_id, Loaded done) = 0;

  // Told, on the store's thread, the outcome of a write whenever it differs
  // from the previous one's: a storage error when writes start failing (a
  // full disk), OK when they succeed again. A store whose writes fail tries
  // again by itself now and then, so that it notices when they work again.
  // Null stops the calls; once Set returns, none is running.
  using HealthListener = std::function<void(const absl::Status&)>;
  virtual void SetHealthListener(HealthListener listener) = 0;

  // Blocks until everything queued so far is durable or has failed.
  virtual void Flush() = 0;

  // What a store measures of its writes, for the server's metrics; null when
  // it measures nothing.
  struct Stats {
    // Seconds from a group commit's start to its durability.
    AtomicHistogram commit_seconds{
        {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}};
    // Appends and deletions committed together.
    AtomicHistogram batch_operations{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};
  };
  virtual const Stats* stats() const { return nullptr; }
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_STORE_EVENT_STORE_H_
