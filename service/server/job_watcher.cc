#include "service/server/job_watcher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/status_conversion.h"

namespace lrsched {
namespace {
constexpr size_t kBatch = 64;
}  // namespace

JobWatcher::JobWatcher(std::shared_ptr<Job> job, int64_t from_sequence,
                       std::function<void()> on_done)
    : job_(std::move(job)),
      on_done_(std::move(on_done)),
      next_sequence_(std::max<int64_t>(from_sequence, 1)) {
  Next();
}

// Runs from the constructor, from OnWriteDone, or from the job's wake-up:
// never two at once, as each happens only while neither other is pending.
void JobWatcher::Next() {
  if (batch_index_ < batch_.size()) {
    StartWrite(&batch_[batch_index_]);
    return;
  }
  while (true) {
    batch_.clear();
    batch_index_ = 0;
    const absl::Status status = job_->ReadEvents(next_sequence_, kBatch, &batch_, &ended_);
    if (!status.ok()) {
      if (started_ && status.code() == absl::StatusCode::kOutOfRange) {
        FinishOnce(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                absl::StrCat("the watcher fell behind: ", status.message())));
      } else {
        FinishOnce(ToGrpcStatus(status));
      }
      return;
    }
    started_ = true;
    if (!batch_.empty()) {
      next_sequence_ = batch_.back().sequence() + 1;
      StartWrite(&batch_[0]);
      return;
    }
    if (ended_) {
      FinishOnce(grpc::Status::OK);
      return;
    }
    MutexLock lock(&mu_);
    wait_id_ = job_->WaitForEvent(next_sequence_, [this] {
      {
        MutexLock wake_lock(&mu_);
        wait_id_ = 0;
      }
      Next();
    });
    if (wait_id_ != 0) return;
  }
}

void JobWatcher::OnWriteDone(bool ok) {
  if (!ok) {
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke"));
    return;
  }
  ++batch_index_;
  if (batch_index_ >= batch_.size() && ended_) {
    FinishOnce(grpc::Status::OK);
    return;
  }
  Next();
}

void JobWatcher::OnCancel() {
  uint64_t wait_id;
  {
    MutexLock lock(&mu_);
    wait_id = wait_id_;
  }
  if (wait_id != 0 && job_->CancelEventWait(wait_id)) {
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher cancelled"));
  }
}

void JobWatcher::FinishOnce(const grpc::Status& status) {
  if (finished_.exchange(true)) return;
  Finish(status);
}

}  // namespace lrsched
