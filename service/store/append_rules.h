// The rules of EventStore::Append that every store checks the same way, with
// the same words: what makes an append well formed, and the refusal of one
// that does not follow its job's log.
#ifndef LRSCHED_SERVICE_STORE_APPEND_RULES_H_
#define LRSCHED_SERVICE_STORE_APPEND_RULES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lrsched/v1/event.pb.h"

namespace lrsched {

// INVALID_ARGUMENT unless `events` are one job's consecutive sequence from a
// positive number.
absl::Status CheckAppend(const std::vector<v1::JobEvent>& events);

// FAILED_PRECONDITION: an append of `job_id` starting at `first` onto a log
// that ends at `head` (0: no events).
absl::Status NotFollowing(const std::string& job_id, int64_t first, int64_t head);

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_STORE_APPEND_RULES_H_
