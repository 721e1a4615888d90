// Rebuilding a Job from its log: every event goes through the same Apply as
// when it was emitted, so that the rebuilt job is the job that wrote the log.
#include "service/job/job.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/job/proto_time.h"

namespace lrsched {

absl::StatusOr<std::shared_ptr<Job>> Job::Replay(absl::Span<v1::JobEvent* const> events,
                                                 const JobOptions& options, EventStore* store) {
  if (events.empty() || !events.front()->has_created() || events.front()->sequence() != 1) {
    return absl::DataLossError(absl::StrCat(
        "job ", events.empty() ? "?" : events.front()->job_id(),
        ": its log does not start with its creation"));
  }
  const v1::JobCreated& created = events.front()->created();
  auto schedule = Schedule::Create(created.spec(), created.base_lrs());
  if (!schedule.ok()) {
    return absl::DataLossError(absl::StrCat("job ", events.front()->job_id(),
                                            ": its spec no longer validates: ",
                                            schedule.status().message()));
  }
  const absl::Time create_time = FromTimestamp(events.front()->time());
  auto job = std::make_shared<Job>(Passkey(), events.front()->job_id(), created,
                                   *std::move(schedule), create_time, options, store);
  MutexLock lock(&job->mu_);
  Callbacks released;
  const size_t kept_from =
      events.size() - std::min<size_t>(events.size(), static_cast<size_t>(options.max_events));
  for (size_t i = 0; i < events.size(); ++i) {
    LRSCHED_RETURN_IF_ERROR(job->Apply(*events[i], released, /*replay=*/true));
    job->events_.Keep(*events[i], /*retain=*/i >= kept_from);
  }
  std::vector<WakeCallback> none;
  job->MarkDurable(job->events_.last(), job->handed_out_, none).IgnoreError();
  return job;
}

}  // namespace lrsched
