#include "service/store/write_queue.h"

#include <future>
#include <utility>

namespace lrsched {

void WriteQueue::Append(std::vector<v1::JobEvent> events, EventStore::Done done) {
  Enqueue({std::move(events), std::nullopt, std::nullopt, std::move(done), nullptr});
}

void WriteQueue::DeleteJob(std::string job_id, EventStore::Done done) {
  Enqueue({{}, std::move(job_id), std::nullopt, std::move(done), nullptr});
}

void WriteQueue::LoadJob(std::string job_id, EventStore::Loaded done) {
  Enqueue({{}, std::nullopt, std::move(job_id), [](absl::Status) {}, std::move(done)});
}

void WriteQueue::Flush() {
  std::promise<void> flushed;
  Enqueue({{}, std::nullopt, std::nullopt, [&flushed](absl::Status) { flushed.set_value(); },
           nullptr});
  flushed.get_future().wait();
}

void WriteQueue::Enqueue(Operation operation) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(operation));
  }
  wake_.notify_one();
}

bool WriteQueue::Take(std::deque<Operation>* batch, absl::Duration probe_interval) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto ready = [this] { return stopping_ || !queue_.empty(); };
  if (failing_) {
    if (!wake_.wait_for(lock, absl::ToChronoNanoseconds(probe_interval), ready)) return true;
  } else {
    wake_.wait(lock, ready);
  }
  if (queue_.empty()) return false;  // stopping, and everything is written
  batch->swap(queue_);
  return true;
}

void WriteQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
}

void WriteQueue::SetHealthListener(EventStore::HealthListener listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = std::move(listener);
}

void WriteQueue::ReportHealth(const absl::Status& status) {
  if (status.ok() != failing_) return;
  failing_ = !status.ok();
  std::lock_guard<std::mutex> lock(listener_mu_);
  if (listener_) listener_(status);
}

}  // namespace lrsched
