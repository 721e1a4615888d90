#include "service/store/append_rules.h"

#include "absl/strings/str_cat.h"

namespace lrsched {

absl::Status CheckAppend(const std::vector<v1::JobEvent>& events) {
  const v1::JobEvent& first = events.front();
  if (first.sequence() < 1) {
    return absl::InvalidArgumentError(absl::StrCat("job ", first.job_id(), ": event sequence ",
                                                   first.sequence(), " is not positive"));
  }
  for (size_t i = 1; i < events.size(); ++i) {
    if (events[i].job_id() != first.job_id() ||
        events[i].sequence() != first.sequence() + static_cast<int64_t>(i)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "job ", first.job_id(), ": an append holds one job's consecutive events, but event ",
          first.sequence() + static_cast<int64_t>(i), " is job ", events[i].job_id(),
          " event ", events[i].sequence()));
    }
  }
  return absl::OkStatus();
}

absl::Status NotFollowing(const std::string& job_id, int64_t first, int64_t head) {
  return absl::FailedPreconditionError(absl::StrCat(
      "job ", job_id, ": cannot append event ", first,
      head == 0 ? ": the job has no events, so it expected event 1"
                : absl::StrCat(": its log ends at event ", head, ", so it expected event ",
                               head + 1),
      "; nothing of this append is stored"));
}

}  // namespace lrsched
