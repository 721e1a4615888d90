#include "service/job/retained_events.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace lrsched {

void RetainedEvents::Keep(const v1::JobEvent& event, bool retain) {
  last_ = event.sequence();
  total_bytes_ += static_cast<int64_t>(event.ByteSizeLong());
  if (event.has_created()) return;
  if (!retain) {
    first_stored_ = last_ + 1;
    return;
  }
  stored_.push_back(event.SerializeAsString());
  const int64_t over = last_ - first() + 1 - std::max<int64_t>(max_events_, 1);
  if (over > 0) {
    // Drops the creation first, while it is still retained.
    const int64_t drop = std::min<int64_t>(over, last_ - first_stored_ + 1);
    stored_.pop_front(static_cast<size_t>(drop));
    first_stored_ += drop;
  }
}

int64_t RetainedEvents::first() const {
  // The creation is retained while nothing has been dropped after it.
  return first_stored_ == 2 && last_ - 1 < max_events_ ? 1 : first_stored_;
}

std::vector<RetainedEvents::Wake> RetainedEvents::MarkDurable(int64_t sequence) {
  std::vector<Wake> woken;
  if (sequence <= durable_) return woken;
  durable_ = std::min(sequence, last_);
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second.from_sequence <= durable_) {
      woken.push_back(std::move(it->second.wake));
      waiting_.erase(it++);
    } else {
      ++it;
    }
  }
  return woken;
}

absl::Status RetainedEvents::Read(int64_t from_sequence, size_t max,
                                  absl::FunctionRef<v1::JobEvent()> creation,
                                  std::vector<v1::JobEvent>* out) const {
  from_sequence = std::max<int64_t>(from_sequence, 1);
  if (from_sequence < first()) {
    return absl::OutOfRangeError(
        absl::StrCat("from_sequence: events before ", first(), " are no longer kept"));
  }
  for (int64_t sequence = from_sequence; sequence <= durable_ && out->size() < max;
       ++sequence) {
    if (sequence == 1) {
      out->push_back(creation());
    } else if (!out->emplace_back().ParseFromString(
                   stored_[static_cast<size_t>(sequence - first_stored_)])) {
      return absl::InternalError(absl::StrCat("kept event ", sequence, " does not parse"));
    }
  }
  return absl::OkStatus();
}

uint64_t RetainedEvents::Wait(int64_t from_sequence, Wake wake) {
  if (from_sequence <= durable_) return 0;
  const uint64_t id = next_wait_id_++;
  waiting_.emplace(id, Waiting{from_sequence, std::move(wake)});
  return id;
}

std::vector<RetainedEvents::Wake> RetainedEvents::TakeAll() {
  std::vector<Wake> woken;
  for (auto& [id, waiting] : waiting_) woken.push_back(std::move(waiting.wake));
  waiting_.clear();
  return woken;
}

}  // namespace lrsched
