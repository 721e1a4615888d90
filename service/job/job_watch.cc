// What WatchJob reads of a Job: its durable events, and readers parked until
// the next one is durable.
#include "service/job/job.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/job/proto_time.h"

namespace lrsched {

absl::Status Job::ReadEvents(int64_t from_sequence, size_t max, std::vector<v1::JobEvent>* out,
                             bool* ended) const {
  MutexLock lock(&mu_);
  if (!closed_.ok()) return closed_;
  const size_t before = out->size();
  absl::Status status =
      events_.Read(from_sequence, max, [this] { return CreationEvent(); }, out);
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("job ", id_, ": ", status.message()));
  }
  const bool read_all = out->size() > before ? out->back().sequence() == events_.last()
                                             : from_sequence > events_.last();
  *ended = deleted_ && events_.durable() == events_.last() && read_all;
  return absl::OkStatus();
}

uint64_t Job::WaitForEvent(int64_t from_sequence, WakeCallback wake) {
  MutexLock lock(&mu_);
  if (!closed_.ok()) return 0;
  return events_.Wait(from_sequence, std::move(wake));
}

bool Job::CancelEventWait(uint64_t id) {
  MutexLock lock(&mu_);
  return events_.Cancel(id);
}

v1::JobEvent Job::CreationEvent() const {
  v1::JobEvent event;
  event.set_job_id(id_);
  event.set_sequence(1);
  *event.mutable_time() = ToTimestamp(create_time_);
  *event.mutable_created() = created_;
  return event;
}

}  // namespace lrsched
