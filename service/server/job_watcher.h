// The reactor of a WatchJob stream: sends the job's events from a sequence
// number on, then waits (holding no thread) for new ones. It holds at most one
// small batch of events, so a slow reader costs no memory; one that falls
// behind the events the job keeps ends with RESOURCE_EXHAUSTED.
#ifndef LRSCHED_SERVICE_SERVER_JOB_WATCHER_H_
#define LRSCHED_SERVICE_SERVER_JOB_WATCHER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "service/common/mutex.h"
#include "lrsched/v1/event.pb.h"
#include "service/job/job.h"

namespace lrsched {

class JobWatcher final : public grpc::ServerWriteReactor<v1::JobEvent> {
 public:
  // Starts sending at once; deletes itself when done, after `on_done`.
  JobWatcher(std::shared_ptr<Job> job, int64_t from_sequence,
             std::function<void()> on_done = nullptr);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override {
    if (on_done_) on_done_();
    delete this;
  }

 private:
  // Writes the next event, or waits for one, or finishes.
  void Next();
  void FinishOnce(const grpc::Status& status);

  const std::shared_ptr<Job> job_;
  const std::function<void()> on_done_;
  int64_t next_sequence_;
  bool started_ = false;
  bool ended_ = false;
  // Events read but not written yet; batch_[batch_index_] is in flight.
  std::vector<v1::JobEvent> batch_;
  size_t batch_index_ = 0;
  Mutex mu_;
  uint64_t wait_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> finished_{false};
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_JOB_WATCHER_H_
