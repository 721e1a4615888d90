// The read side of Job: what GetJob, ListJobs and the server's metrics see,
// and the answers to calls that repeat what the job already has (the same
// creation, a report of a step already aggregated). Nothing here changes
// the job.
#include "service/job/job.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "service/common/shortest_double.h"
#include "service/job/proto_time.h"

namespace lrsched {
namespace {

// What differs between two creation requests, for ALREADY_EXISTS.
std::string CreationDifference(const v1::JobCreated& have, const v1::JobCreated& want) {
  using google::protobuf::util::MessageDifferencer;
  if (!MessageDifferencer::Equals(have.spec(), want.spec())) return "spec";
  if (have.base_lrs_size() != want.base_lrs_size() ||
      !std::equal(have.base_lrs().begin(), have.base_lrs().end(), want.base_lrs().begin())) {
    return "base_lrs";
  }
  if (have.world_size() != want.world_size()) {
    return absl::StrCat("world_size (", have.world_size(), ", asked ", want.world_size(), ")");
  }
  if (have.aggregation() != want.aggregation()) {
    return absl::StrCat("aggregation (", v1::Aggregation_Name(have.aggregation()), ", asked ",
                        v1::Aggregation_Name(want.aggregation()), ")");
  }
  if (have.max_look_ahead() != want.max_look_ahead()) {
    return absl::StrCat("max_look_ahead (", have.max_look_ahead(), ", asked ",
                        want.max_look_ahead(), ")");
  }
  return "";
}

}  // namespace

absl::Status Job::MatchesCreation(const v1::JobCreated& created) const {
  const std::string difference = CreationDifference(created_, created);
  if (difference.empty()) return absl::OkStatus();
  return absl::AlreadyExistsError(absl::StrCat(
      "job ", id_, " already exists with a different ", difference,
      "; delete it first or choose another job_id"));
}

absl::Status Job::AnswerAggregated(int64_t step, int32_t rank, const MetricReport& report,
                                   v1::ReportMetricResponse* response) const {
  if (step < values_.first() || history_.empty() || step < history_.first_step()) {
    return absl::OutOfRangeError(absl::StrCat(
        "step: ", step, " was aggregated and has left job ", id_, "'s retained window [",
        values_.first(), ", ", schedule_.step(), "]"));
  }
  const MetricHistory::Entry* entry = history_.Find(step);
  if (entry == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "step: the metric of step ", step, " is not used: job ", id_,
        "'s schedule takes metrics from step ", schedule_.first_metric_step(), " on"));
  }
  const auto& earlier =
      rank < static_cast<int32_t>(entry->reports.size()) ? entry->reports[rank] : std::nullopt;
  if (!earlier) {
    return absl::FailedPreconditionError(absl::StrCat(
        "step ", step, " of job ", id_, " was aggregated without a report of rank ", rank));
  }
  if (!earlier->SameAs(report)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "rank ", rank, " already reported ", ShortestDouble(earlier->value), " (weight ",
        ShortestDouble(earlier->weight), ") for step ", step, " of job ", id_, "; got ",
        ShortestDouble(report.value), " (weight ", ShortestDouble(report.weight), ")"));
  }
  response->set_aggregated(true);
  *response->mutable_decision() = entry->metric;
  return absl::OkStatus();
}

int64_t Job::shown_step() const { return std::min(schedule_.step(), durable_handed_out_); }

Job::Gauges Job::gauges() const {
  MutexLock lock(&mu_);
  return {created_.spec().kind_case(), static_cast<int32_t>(waiters_.size()), pending_.count(),
          schedule_.lrs()};
}

void Job::ToProto(v1::JobView view, v1::Job* job, int64_t history_before_step) const {
  MutexLock lock(&mu_);
  job->set_job_id(id_);
  *job->mutable_spec() = created_.spec();
  *job->mutable_base_lrs() = created_.base_lrs();
  job->set_world_size(world_size_);
  job->set_aggregation(created_.aggregation() == v1::AGGREGATION_UNSPECIFIED
                           ? v1::WEIGHTED_MEAN
                           : created_.aggregation());
  *job->mutable_create_time() = ToTimestamp(create_time_);
  job->set_decided_step(decided_step());
  job->set_handed_out_step(handed_out_);
  job->set_first_retained_step(values_.first());
  if (values_.Contains(shown_step())) values_.Fill(shown_step(), job->mutable_latest());
  job->set_event_count(events_.last());
  job->set_stored_bytes(events_.total_bytes());
  job->set_last_sequence(events_.last());
  job->set_waiting_steps(static_cast<int32_t>(waiters_.size()));
  job->set_last_step(schedule_.last_step());
  job->set_max_look_ahead(created_.max_look_ahead());
  if (view == v1::JOB_VIEW_BASIC) return;
  *job->mutable_worker_steps() = {worker_steps_.begin(), worker_steps_.end()};
  for (const v1::Override& override : overrides_) *job->add_overrides() = override;
  job->set_more_metric_history(history_.AppendShown(
      durable_handed_out_,
      history_before_step > 0 ? history_before_step : std::numeric_limits<int64_t>::max(),
      kMaxHistoryBytes, job->mutable_metric_history()));
  for (int rank = 0; rank < pending_.world_size(); ++rank) {
    if (const auto& report = pending_.Get(rank)) {
      v1::PendingReport* pending = job->add_pending_reports();
      pending->set_step(schedule_.step());
      pending->set_rank(rank);
      pending->set_value(report->value);
      pending->set_weight(report->weight);
    }
  }
}

int64_t Job::worst_case_bytes() const {
  MutexLock lock(&mu_);
  // The job and its schedule; a protobuf message's own allocations.
  constexpr int64_t kFixed = 4096;
  constexpr int64_t kMessage = 64;
  // Kept events and decisions sit in SlidingVectors: up to four slots per
  // live one (dropped ones wait for compaction, and the vector grows by
  // doubling). An aggregation or an override states a rate per group.
  constexpr int64_t kSlots = 4;
  const int64_t groups = static_cast<int64_t>(schedule_.num_groups());
  const int64_t rates = groups * static_cast<int64_t>(sizeof(double));
  const int64_t world = created_.world_size();
  const int64_t window = options_.history_window;
  // rank_steps_ and worker_steps_.
  int64_t bytes = kFixed + 2 * world * static_cast<int64_t>(sizeof(int64_t)) +
                  options_.max_events *
                      (kSlots * static_cast<int64_t>(sizeof(std::string)) + kMessage + rates) +
                  window * static_cast<int64_t>(values_.stride() * sizeof(double));
  if (schedule_.takes_metric()) {
    bytes += window * (kSlots * static_cast<int64_t>(sizeof(MetricHistory::Entry)) + kMessage +
                       rates +
                       world * static_cast<int64_t>(sizeof(std::optional<MetricReport>)));
  }
  return bytes;
}

}  // namespace lrsched
