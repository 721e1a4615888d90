// What every EventStore back end does alike around its one writer thread:
// the queue of what callers ask for (appends, deletions, reads, flushes), in
// call order, and the health listener told when writes start or stop failing
// (event_store.h). The back end's writer takes everything queued at once and
// commits it as one batch.
//
// Thread-safe; Take and ReportHealth are for the writer thread only.
#ifndef LRSCHED_SERVICE_STORE_WRITE_QUEUE_H_
#define LRSCHED_SERVICE_STORE_WRITE_QUEUE_H_

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "service/store/event_store.h"

namespace lrsched {

class WriteQueue {
 public:
  struct Operation {
    std::vector<v1::JobEvent> events;       // an append, or
    std::optional<std::string> delete_job;  // a deletion, or
    std::optional<std::string> load_job;    // a read (into `loaded`), or none: a flush
    EventStore::Done done;
    EventStore::Loaded loaded;

    bool is_write() const { return !events.empty() || delete_job.has_value(); }
  };

  void Append(std::vector<v1::JobEvent> events, EventStore::Done done);
  void DeleteJob(std::string job_id, EventStore::Done done);
  void LoadJob(std::string job_id, EventStore::Loaded done);
  // Blocks until everything queued before is done.
  void Flush();

  // Waits for operations and moves all of them into `batch`. While writes
  // fail, waits at most `probe_interval` (returns true with `batch` empty:
  // time for the writer's own small write). False once Stop was called and
  // nothing is left.
  bool Take(std::deque<Operation>* batch, absl::Duration probe_interval);
  // Take returns false once the queue is empty.
  void Stop();

  void SetHealthListener(EventStore::HealthListener listener);
  // Tells the listener `status` if it differs from the last one's outcome.
  void ReportHealth(const absl::Status& status);
  bool failing() const { return failing_; }

 private:
  void Enqueue(Operation operation);

  // A plain condition variable: a producer/consumer queue that
  // ThreadSanitizer can see through.
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Operation> queue_;
  bool stopping_ = false;
  // Writer thread only.
  bool failing_ = false;
  std::mutex listener_mu_;
  EventStore::HealthListener listener_;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_STORE_WRITE_QUEUE_H_
