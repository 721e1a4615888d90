// Job's state machine: the live calls, which emit events, the one Apply that
// every event goes through, and Commit, which makes a call's events durable
// before the call is acknowledged. Rebuilding from the log is in
// job_replay.cc, the read side in job_view.cc and job_watch.cc.
#include "service/job/job.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/common/shortest_double.h"
#include "service/job/proto_time.h"
#include "service/job/scheduler_names.h"

namespace lrsched {
namespace {

// Values (steps x groups, momentums included) one Step call may compute
// beyond the furthest computed step: about a tenth of a second of one core
// under the job's lock, so that no call can stall its job (and the callback
// thread) for long, and a drain never waits on one.
constexpr int64_t kMaxComputedValues = int64_t{1} << 22;
// Values one Step answer holds at most, so that it stays under gRPC's default
// 4 MB receive limit whatever the number of parameter groups.
constexpr int64_t kMaxAnswerValues = 400'000;
// Bytes of overrides a job keeps (of retained steps, and still to come), so
// that its view stays small whatever an operator sends: 127 of 1,024 rates,
// tens of thousands of factors.
constexpr size_t kMaxOverrideBytes = size_t{1} << 20;

}  // namespace

absl::StatusOr<std::shared_ptr<Job>> Job::Create(const std::string& job_id,
                                                 const v1::JobCreated& created, absl::Time now,
                                                 const JobOptions& options, EventStore* store) {
  auto schedule = Schedule::Create(created.spec(), created.base_lrs());
  if (!schedule.ok()) return schedule.status();
  // One allocation for the job and its reference count.
  auto job = std::make_shared<Job>(Passkey(), job_id, created, *std::move(schedule), now,
                                   options, store);
  MutexLock lock(&job->mu_);
  v1::JobEvent event;
  *event.mutable_created() = created;
  *event.mutable_time() = ToTimestamp(now);
  Callbacks released;
  job->observed_ = false;
  // Stored with the job's first commit (see WhenDurable); kept nowhere,
  // it is as durable as it will be.
  job->Emit(std::move(event), released);
  job->observed_ = true;
  if (store == nullptr) job->events_.MarkDurable(1);
  return job;
}

void Job::NoteAsked(int32_t rank, int64_t step) {
  int64_t& asked = worker_steps_[static_cast<size_t>(rank)];
  asked = std::max(asked, step);
}

void Job::AnnounceCreation() {
  MutexLock lock(&mu_);
  if (creation_announced_) return;
  creation_announced_ = true;
  if (options_.observer != nullptr) options_.observer->OnEvent(CreationEvent());
}

Job::Job(Passkey, std::string id, v1::JobCreated created, Schedule schedule, absl::Time create_time,
         const JobOptions& options, EventStore* store)
    : id_(std::move(id)),
      store_(store),
      created_(std::move(created)),
      create_time_(create_time),
      options_(options),
      schedule_(std::move(schedule)),
      world_size_(std::max(created_.world_size(), 1)),
      rank_steps_(static_cast<size_t>(world_size_), 0),
      worker_steps_(static_cast<size_t>(world_size_), -1),
      look_ahead_limit_(created_.max_look_ahead()),
      values_(schedule_.num_groups(), schedule_.cycles_momentum(), options_.history_window),
      pending_(world_size_),
      events_(options_.max_events) {
  MutexLock lock(&mu_);
  values_.Append(schedule_.lrs(), schedule_.momentums());
}

absl::Status Job::CheckOpen(int32_t rank) const {
  if (deleted_) return absl::NotFoundError(absl::StrCat("job ", id_, " was deleted"));
  if (!closed_.ok()) return closed_;
  if (rank >= world_size_) {
    return absl::InvalidArgumentError(absl::StrCat("rank: must be less than job ", id_,
                                                   "'s world_size ", world_size_, ", got ", rank));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- values

int64_t Job::decided_step() const {
  const int64_t first_metric = schedule_.first_metric_step();
  if (schedule_.step() >= first_metric) return schedule_.step();
  return std::min(first_metric, schedule_.last_step());
}

bool Job::StepSchedule(double metric, v1::AggregatedMetric* decision) {
  const std::vector<double> before =
      decision != nullptr ? schedule_.lrs() : std::vector<double>();
  // Overrides of the new step apply after the scheduler's decision.
  size_t overrides = 0;
  while (overrides < pending_overrides_.size() &&
         pending_overrides_[overrides].effective_step() == schedule_.step() + 1) {
    ++overrides;
  }
  if (!schedule_.Step(metric, absl::MakeConstSpan(pending_overrides_.data(), overrides))) {
    return false;  // the schedule ends here: see Schedule::end_reason()
  }
  pending_overrides_.erase(pending_overrides_.begin(), pending_overrides_.begin() + overrides);
  if (decision != nullptr) {
    bool reduced = false;
    for (size_t g = 0; g < before.size(); ++g) reduced |= schedule_.lrs()[g] < before[g];
    decision->set_reduced(reduced);
    if (const ReduceLROnPlateau* plateau = schedule_.plateau()) {
      decision->mutable_plateau()->set_best(plateau->best());
      decision->mutable_plateau()->set_num_bad_epochs(plateau->num_bad_epochs());
      decision->mutable_plateau()->set_cooldown_counter(plateau->cooldown_counter());
    }
  }
  values_.Append(schedule_.lrs(), schedule_.momentums());
  history_.DropBefore(values_.first());
  if (!overrides_.empty()) {
    const auto gone = std::remove_if(
        overrides_.begin(), overrides_.end(), [first = values_.first()](const v1::Override& o) {
          return o.effective_step() < first;
        });
    for (auto it = gone; it != overrides_.end(); ++it) override_bytes_ -= it->ByteSizeLong();
    overrides_.erase(gone, overrides_.end());
  }
  return true;
}

void Job::Advance(int64_t target) {
  while (schedule_.step() < target && !schedule_.next_step_takes_metric() &&
         StepSchedule(std::numeric_limits<double>::quiet_NaN(), nullptr)) {
  }
}

void Job::RaiseHandedOut(int32_t rank, int64_t first, int64_t last, Callbacks& released) {
  if (last <= handed_out_) return;
  const int64_t reserved = std::max(
      last, std::min({handed_out_ + (look_ahead_limit_ > 0 ? look_ahead_limit_
                                                           : options_.handed_out_chunk),
                      decided_step(),
                      first + options_.history_window - 1, reachable_step(rank, first)}));
  v1::JobEvent event;
  event.mutable_handed_out_raised()->set_step(reserved);
  Emit(std::move(event), released);
}

int64_t Job::reachable_step(int32_t rank, int64_t step) const {
  int64_t slowest = std::numeric_limits<int64_t>::max();
  for (size_t r = 0; r < rank_steps_.size(); ++r) {
    slowest = std::min(slowest, static_cast<int32_t>(r) == rank ? std::max(rank_steps_[r], step)
                                                                : rank_steps_[r]);
  }
  return slowest + options_.history_window - 1;
}

void Job::RecordRequest(int32_t rank, int64_t step, Callbacks& released) {
  // A single worker's own request is all the window must keep for it.
  if (world_size_ == 1 || step <= rank_steps_[static_cast<size_t>(rank)]) return;
  v1::JobEvent event;
  event.mutable_step_requested()->set_rank(rank);
  event.mutable_step_requested()->set_step(step);
  Emit(std::move(event), released);
}

bool Job::StopsHoldingBack(int32_t rank, int64_t step) const {
  // Only the lowest waiting step is looked at: it is released first, and a
  // rank that no longer holds it back is recorded once, not at every Step
  // while a Step far ahead waits out its deadline.
  const std::optional<int64_t> parked = waiters_.first_step();
  if (!parked || *parked > decided_step()) return false;
  const int64_t window = options_.history_window;
  return rank_steps_[static_cast<size_t>(rank)] + window - 1 < *parked &&
         step + window - 1 >= *parked;
}

void Job::ReleaseReachable(Callbacks& released) {
  auto ready = waiters_.TakeDecided(std::min(decided_step(), reachable_step(-1, 0)));
  for (auto& callback : ready) released.push_back(std::move(callback));
}

// ---------------------------------------------------------------- Step

Job::StepOutcome Job::Step(const v1::StepRequest& request, v1::StepResponse* response,
                           Done done, StepWaiters::Callback on_decided,
                           std::atomic<StepWaiters::Id>* waiter) {
  std::optional<Finish> finish;
  StepOutcome outcome = StepOutcome::kAnswered;
  {
    MutexLock lock(&mu_);
    const int64_t step = request.step();
    const int32_t rank = request.rank();
    absl::Status status = CheckOpen(rank);
    if (!status.ok()) {
    } else if (step > schedule_.last_step()) {
      status = EndedError(step);
    } else if (step < values_.first()) {
      status = absl::OutOfRangeError(absl::StrCat(
          "step: ", step, " is before job ", id_, "'s retained window [", values_.first(), ", ",
          schedule_.step(), "]"));
    } else if (step > decided_step()) {
      const StepOutcome parked = Park(step, std::move(on_decided), waiter);
      if (parked == StepOutcome::kParked) NoteAsked(rank, step);
      return parked;
    } else if (step > handed_out_ && step > reachable_step(rank, step)) {
      // Waits for the slowest rank rather than take its steps away.
      NoteAsked(rank, step);
      Callbacks released;
      RecordRequest(rank, step, released);
      outcome = Park(step, std::move(on_decided), waiter);
      finish = Commit(std::move(released), [](absl::Status) {}, absl::OkStatus(),
                      /*barrier=*/false);
    } else {
      status = CheckComputable(step);
    }
    Callbacks released;
    if (outcome != StepOutcome::kAnswered) {
    } else if (status.ok()) {
      NoteAsked(rank, step);
      const int64_t per_answer =
          std::max<int64_t>(1, kMaxAnswerValues / static_cast<int64_t>(values_.stride()));
      const int64_t look_ahead = look_ahead_limit_ > 0
                                     ? std::min(request.look_ahead(), look_ahead_limit_)
                                     : request.look_ahead();
      int64_t last = std::min({step + look_ahead, decided_step(),
                               step + options_.history_window - 1, step + per_answer - 1});
      // Values computed already may be handed out whatever the ranks'
      // positions: only computing further could push a step out (and only
      // then are the positions read, once per handed-out chunk rather than
      // per Step, since reading them costs one look per rank).
      if (last > schedule_.step()) {
        last = std::min(last, std::max(reachable_step(rank, step), schedule_.step()));
      }
      if (last > handed_out_ || StopsHoldingBack(rank, step)) {
        RecordRequest(rank, step, released);
      }
      // Computes up to what it reserves: values leave only up to it.
      RaiseHandedOut(rank, step, last, released);
      // Computing may have found where the schedule ends.
      last = std::min(last, schedule_.last_step());
      if (step > last) {
        finish = Commit(std::move(released), std::move(done), EndedError(step),
                        /*barrier=*/false);
      } else {
        response->mutable_values()->Reserve(static_cast<int>(last - step + 1));
        for (int64_t s = step; s <= last; ++s) values_.Fill(s, response->add_values());
        // The values may leave only once a handed-out step covering them is
        // durable: after a restart no override can change them then. A
        // recorded request wakes the Steps waiting for this rank.
        if (last > durable_handed_out_ || !unsaved_.empty()) {
          finish = Commit(std::move(released), std::move(done), status,
                          /*barrier=*/last > durable_handed_out_);
        }
      }
    }
    if (!finish) {
      finish = [done = std::move(done), status]() mutable { std::move(done)(status); };
    }
  }
  std::move (*finish)();
  return outcome;
}

Job::StepOutcome Job::Park(int64_t step, StepWaiters::Callback on_decided,
                           std::atomic<StepWaiters::Id>* waiter) {
  if (!on_decided) return StepOutcome::kUndecided;
  const StepWaiters::Id id = waiters_.Add(step, std::move(on_decided));
  if (waiter != nullptr) waiter->store(id);
  return StepOutcome::kParked;
}

absl::Status Job::CheckComputable(int64_t step) const {
  const int64_t advance = kMaxComputedValues / static_cast<int64_t>(values_.stride());
  if (step - schedule_.step() <= advance) return absl::OkStatus();
  return absl::OutOfRangeError(absl::StrCat(
      "step: ", step, " is more than ", advance, " steps past job ", id_,
      "'s furthest computed step ", schedule_.step(), " (one call computes at most ",
      kMaxComputedValues, " values, ", values_.stride(), " a step); ask for nearer steps first"));
}

absl::Status Job::EndedError(int64_t step) const {
  return absl::OutOfRangeError(absl::StrCat(
      "step: job ", id_, "'s schedule ends at step ", schedule_.last_step(), ", got ", step,
      schedule_.end_reason().empty() ? "" : ": ", schedule_.end_reason()));
}

bool Job::CancelWaiter(StepWaiters::Id waiter) {
  MutexLock lock(&mu_);
  return waiters_.Remove(waiter).has_value();
}

// ---------------------------------------------------------------- metrics

void Job::ReportMetric(const v1::ReportMetricRequest& request,
                       v1::ReportMetricResponse* response, Done done) {
  std::optional<Finish> finish;
  {
    MutexLock lock(&mu_);
    Callbacks released;
    const int64_t step = request.step();
    const MetricReport report{request.value(), request.weight() == 0 ? 1.0 : request.weight()};
    absl::Status status = CheckOpen(request.rank());
    if (!status.ok()) {
    } else if (!schedule_.takes_metric()) {
      status = absl::FailedPreconditionError(
          absl::StrCat("job ", id_, "'s schedule (",
                       SchedulerFieldName(created_.spec().kind_case()), ") takes no metric"));
    } else if (step > decided_step()) {
      status = absl::FailedPreconditionError(absl::StrCat(
          "step: ", step, " of job ", id_, " is not decided yet (steps up to ", decided_step(),
          " are); report a step after training it"));
    } else if (step > schedule_.step() && step > reachable_step(request.rank(), step)) {
      // Computing up to it would take away steps a slower rank still needs.
      status = absl::FailedPreconditionError(absl::StrCat(
          "step: ", step, " of job ", id_, " is more than its history_window (",
          options_.history_window, " steps) past step ",
          reachable_step(request.rank(), step) - options_.history_window + 1,
          ", which a rank has not asked past yet; report a step after training it"));
    } else if (absl::Status far = CheckComputable(step); !far.ok()) {
      status = std::move(far);
    } else if (schedule_.ended() && step >= schedule_.step()) {
      status = EndedError(step + 1);
    } else if (step < schedule_.first_metric_step()) {
      // A warm-up step before ReduceLROnPlateau takes over: workers report
      // every epoch alike, and this metric decides nothing.
      response->set_aggregated(false);
    } else if (step < schedule_.step()) {
      status = AnswerAggregated(step, request.rank(), report, response);
    } else {
      // Reports wait only for the step the schedule stands at; a later
      // (decided) step has none yet.
      const std::optional<MetricReport> earlier =
          step == schedule_.step() ? pending_.Get(request.rank()) : std::nullopt;
      if (earlier && !earlier->SameAs(report)) {
        status = absl::AlreadyExistsError(absl::StrCat(
            "rank ", request.rank(), " already reported ", ShortestDouble(earlier->value),
            " (weight ", ShortestDouble(earlier->weight), ") for step ", step, " of job ", id_,
            "; got ", ShortestDouble(report.value), " (weight ", ShortestDouble(report.weight),
            ")"));
      } else if (!earlier && !pending_.WeightFits(report.weight)) {
        status = absl::InvalidArgumentError(absl::StrCat(
            "weight: ", report.weight, " would bring the total weight of step ", step,
            " of job ", id_, " past ", MetricReports::kMaxTotalWeight,
            "; the weights of a step's reports must sum to a finite number"));
      } else if (!earlier) {
        v1::JobEvent event;
        v1::MetricReported& reported = *event.mutable_metric_reported();
        reported.set_step(step);
        reported.set_rank(request.rank());
        reported.set_value(report.value);
        reported.set_weight(report.weight);
        Emit(std::move(event), released);
        MaybeAggregate(released);
        if (schedule_.step() > step) {
          response->set_aggregated(true);
          *response->mutable_decision() = history_.latest();
        }
      }
    }
    // A retry is acknowledged only once the report it repeats is durable.
    finish = Commit(std::move(released), std::move(done), status, /*barrier=*/status.ok());
  }
  std::move (*finish)();
}

void Job::MaybeAggregate(Callbacks& released) {
  if (!schedule_.next_step_takes_metric() || !pending_.complete()) return;
  v1::JobEvent event;
  v1::AggregatedMetric& metric = *event.mutable_step_aggregated()->mutable_metric();
  metric.set_step(schedule_.step());
  metric.set_value(pending_.Aggregate(created_.aggregation()));
  metric.set_total_weight(pending_.TotalWeight());
  Emit(std::move(event), released);
  // Every worker asks for the decided step next: reserving it in this same
  // write also saves the write (an fsync with full sync) its first Step
  // would cost.
  RaiseHandedOut(-1, schedule_.step(), schedule_.step(), released);
}

// ---------------------------------------------------------------- overrides

void Job::SetLearningRate(const v1::SetLearningRateRequest& request, v1::Override* override,
                          Done done) {
  std::optional<Finish> finish;
  {
    MutexLock lock(&mu_);
    Callbacks released;
    // Values up to handed_out_ may be in use, and those of computed steps
    // are what replay will compute; the step the schedule stands at may
    // still change if it has not left the server.
    const int64_t effective = std::max({request.step(), handed_out_ + 1, schedule_.step()});
    const size_t groups = schedule_.num_groups();
    absl::Status status = CheckOpen(0);
    if (!status.ok()) {
    } else if (request.has_lrs() && request.lrs().values_size() != 1 &&
               static_cast<size_t>(request.lrs().values_size()) != groups) {
      status = absl::InvalidArgumentError(absl::StrCat(
          "lrs.values: expected 1 or ", groups, " values (job ", id_, " has ", groups,
          " parameter groups), got ", request.lrs().values_size()));
    } else if (effective > schedule_.last_step()) {
      status = absl::OutOfRangeError(absl::StrCat(
          "step: the override would take effect at step ", effective, ", after job ", id_,
          "'s schedule ends at step ", schedule_.last_step()));
    } else if (override_bytes_ >= kMaxOverrideBytes) {
      status = absl::ResourceExhaustedError(absl::StrCat(
          "job ", id_, " holds ", overrides_.size(), " overrides of steps from ", values_.first(),
          " on, ", override_bytes_, " bytes, the most it keeps (", kMaxOverrideBytes,
          "); an override is let go once the retained window has moved past its step"));
    } else {
      override->set_requested_step(request.step());
      override->set_effective_step(effective);
      override->set_mode(request.mode() == v1::SCALE_SCHEDULE ? v1::SCALE_SCHEDULE
                                                              : v1::SET_LEARNING_RATE);
      if (request.has_lrs()) {
        *override->mutable_lrs() = request.lrs();
      } else {
        override->set_factor(request.factor());
      }
      // Known now only for the step the schedule stands at; a later step's
      // values are checked when computed (Schedule::Step).
      if (effective == schedule_.step()) status = schedule_.CheckOverride(*override);
    }
    if (status.ok()) {
      v1::JobEvent event;
      *event.mutable_override_scheduled()->mutable_override() = *override;
      Emit(std::move(event), released);
    }
    finish = Commit(std::move(released), std::move(done), status, /*barrier=*/false);
  }
  std::move (*finish)();
}

absl::Status Job::ApplyOverride(const v1::Override& override) {
  if (override.effective_step() < schedule_.step() ||
      override.effective_step() <= handed_out_) {
    return absl::DataLossError(absl::StrCat(
        "job ", id_, ": an override takes effect at step ", override.effective_step(),
        ", which was computed (", schedule_.step(), ") or handed out (", handed_out_,
        ") already"));
  }
  if (override.effective_step() == schedule_.step()) {
    if (absl::Status status = schedule_.CheckOverride(override); !status.ok()) {
      return absl::DataLossError(absl::StrCat("job ", id_, ": an override at step ",
                                              override.effective_step(), ": ", status.message()));
    }
  }
  overrides_.push_back(override);
  override_bytes_ += override.ByteSizeLong();
  if (override.effective_step() == schedule_.step()) {
    schedule_.ApplyOverride(override);
    values_.ReplaceLast(schedule_.lrs(), schedule_.momentums());
    return absl::OkStatus();
  }
  const auto position = std::upper_bound(
      pending_overrides_.begin(), pending_overrides_.end(), override.effective_step(),
      [](int64_t step, const v1::Override& o) { return step < o.effective_step(); });
  pending_overrides_.insert(position, override);
  return absl::OkStatus();
}

void Job::SetWorldSize(int32_t world_size, Done done) {
  std::optional<Finish> finish;
  {
    MutexLock lock(&mu_);
    Callbacks released;
    absl::Status status = CheckOpen(0);
    if (status.ok() && world_size != world_size_) {
      v1::JobEvent event;
      event.mutable_world_size_changed()->set_world_size(world_size);
      event.mutable_world_size_changed()->set_step(schedule_.step());
      Emit(std::move(event), released);
      MaybeAggregate(released);
    }
    finish = Commit(std::move(released), std::move(done), status, /*barrier=*/status.ok());
  }
  std::move (*finish)();
}

void Job::WhenDurable(Done done) {
  std::optional<Finish> finish;
  {
    MutexLock lock(&mu_);
    finish = Commit({}, std::move(done), CheckOpen(0), /*barrier=*/true);
  }
  std::move (*finish)();
}

// ---------------------------------------------------------------- events

void Job::Emit(v1::JobEvent event, Callbacks& released) {
  event.set_job_id(id_);
  event.set_sequence(events_.last() + 1);
  if (!event.has_time()) *event.mutable_time() = ToTimestamp(absl::Now());
  // Live events are valid by construction; Apply only fails on a bad log.
  Apply(event, released, /*replay=*/false).IgnoreError();
  if (options_.observer != nullptr && observed_) options_.observer->OnEvent(event);
  events_.Keep(event);
  // A deletion is stored by removing the log, not by appending to it.
  if (!event.has_deleted()) unsaved_.push_back(std::move(event));
}

absl::Status Job::MarkDurable(int64_t sequence, int64_t handed_out,
                              std::vector<WakeCallback>& woken) {
  // A commit after a failed one finds the job closed: what it waited for
  // may not be durable.
  if (!closed_.ok()) return closed_;
  durable_handed_out_ = std::max(durable_handed_out_, handed_out);
  woken = events_.MarkDurable(sequence);
  return absl::OkStatus();
}

Job::Finish Job::Commit(Callbacks released, Done done, absl::Status status, bool barrier) {
  const int64_t sequence = events_.last();
  if (store_ == nullptr) {
    unsaved_.clear();
    std::vector<WakeCallback> woken;
    const absl::Status committed = MarkDurable(sequence, handed_out_, woken);
    return [released = std::move(released), done = std::move(done), status, committed,
            woken = std::move(woken)]() mutable {
      for (auto& wake : woken) std::move(wake)();
      Run(released, committed);
      std::move(done)(committed.ok() ? status : committed);
    };
  }
  if (unsaved_.empty() && !barrier) {
    return [released = std::move(released), done = std::move(done), status]() mutable {
      Run(released, absl::OkStatus());
      std::move(done)(status);
    };
  }
  // The store keeps appends in order, so once this one is durable so is every
  // event emitted before it, the handed-out step included.
  store_->Append(std::move(unsaved_),
                 [self = shared_from_this(), sequence, handed_out = handed_out_, status,
                  released = std::move(released), done = std::move(done)](
                     absl::Status durable) mutable {
                   std::vector<WakeCallback> woken;
                   if (durable.ok()) {
                     MutexLock lock(&self->mu_);
                     durable = self->MarkDurable(sequence, handed_out, woken);
                   } else {
                     durable = absl::UnavailableError(absl::StrCat(
                         "job ", self->id_, " could not record its state: ", durable.message(),
                         "; retry"));
                     self->Close(durable);
                     if (self->options_.observer != nullptr) {
                       self->options_.observer->OnWriteFailed(self->id_);
                     }
                   }
                   for (auto& wake : woken) std::move(wake)();
                   Run(released, durable);
                   std::move(done)(durable.ok() ? status : durable);
                 });
  unsaved_.clear();
  return [] {};
}

absl::Status Job::Apply(v1::JobEvent& event, Callbacks& released, bool replay) {
  if (event.sequence() != events_.last() + 1) {
    return absl::DataLossError(absl::StrCat("job ", id_, ": event ", event.sequence(),
                                            " follows event ", events_.last()));
  }
  switch (event.kind_case()) {
    case v1::JobEvent::kCreated:
      if (event.sequence() != 1) break;
      return absl::OkStatus();
    case v1::JobEvent::kMetricReported:
      return ApplyReport(event);
    case v1::JobEvent::kStepAggregated:
      return ApplyAggregation(*event.mutable_step_aggregated(), released, replay);
    case v1::JobEvent::kOverrideScheduled:
      return ApplyOverride(event.override_scheduled().override());
    case v1::JobEvent::kWorldSizeChanged:
      if (event.world_size_changed().world_size() < 1) break;
      world_size_ = event.world_size_changed().world_size();
      pending_.Resize(world_size_);
      // A new rank may still ask for any retained step; no rank needs an
      // earlier one (and a job of one rank did not record its own).
      for (int64_t& at : rank_steps_) at = std::max(at, values_.first());
      rank_steps_.resize(static_cast<size_t>(world_size_), values_.first());
      worker_steps_.resize(static_cast<size_t>(world_size_), -1);
      ReleaseReachable(released);
      return absl::OkStatus();
    case v1::JobEvent::kHandedOutRaised: {
      const int64_t step = event.handed_out_raised().step();
      if (step <= handed_out_ || step > decided_step()) break;
      handed_out_ = step;
      Advance(step);
      // Computing may find the schedule's end (a step whose values would
      // not be finite): nothing past it was handed out.
      handed_out_ = std::min(handed_out_, schedule_.last_step());
      return absl::OkStatus();
    }
    case v1::JobEvent::kStepRequested: {
      const v1::StepRequested& requested = event.step_requested();
      if (requested.rank() < 0 || requested.rank() >= world_size_) break;
      int64_t& at = rank_steps_[static_cast<size_t>(requested.rank())];
      at = std::max(at, requested.step());
      int64_t& asked = worker_steps_[static_cast<size_t>(requested.rank())];
      asked = std::max(asked, requested.step());
      ReleaseReachable(released);
      return absl::OkStatus();
    }
    case v1::JobEvent::kDeleted:
      deleted_ = true;
      for (auto& callback : waiters_.TakeAll()) released.push_back(std::move(callback));
      return absl::OkStatus();
    case v1::JobEvent::KIND_NOT_SET:
      break;
  }
  return absl::DataLossError(absl::StrCat("job ", id_, ": event ", event.sequence(),
                                          " does not fit: ", event.ShortDebugString()));
}

absl::Status Job::ApplyReport(const v1::JobEvent& event) {
  const v1::MetricReported& reported = event.metric_reported();
  // Metric-free steps before the reported one are computed first: the same
  // on replay as when the report arrived.
  if (reported.step() <= decided_step()) Advance(reported.step());
  if (reported.step() != schedule_.step() || !schedule_.next_step_takes_metric() ||
      reported.rank() < 0 || reported.rank() >= world_size_ ||
      pending_.Add(reported.rank(), MetricReport{reported.value(), reported.weight()}) !=
          MetricReports::AddResult::kAdded) {
    return absl::DataLossError(absl::StrCat("job ", id_, ": event ", event.sequence(),
                                            " reports rank ", reported.rank(), " for step ",
                                            reported.step(), ", which does not fit"));
  }
  int64_t& at = rank_steps_[static_cast<size_t>(reported.rank())];
  at = std::max(at, reported.step());
  int64_t& asked = worker_steps_[static_cast<size_t>(reported.rank())];
  asked = std::max(asked, reported.step());
  return absl::OkStatus();
}

absl::Status Job::ApplyAggregation(v1::StepAggregated& aggregated, Callbacks& released,
                                   bool replay) {
  v1::AggregatedMetric& metric = *aggregated.mutable_metric();
  if (metric.step() != schedule_.step() || !schedule_.next_step_takes_metric() ||
      pending_.count() == 0) {
    return absl::DataLossError(absl::StrCat("job ", id_, ": aggregation of step ", metric.step(),
                                            " while step ", schedule_.step(), " awaits"));
  }
  MetricHistory::Entry entry;
  for (int rank = 0; rank < pending_.world_size(); ++rank) {
    entry.reports.push_back(pending_.Get(rank));
  }
  pending_.Clear();
  v1::AggregatedMetric decided;
  decided.set_step(metric.step());
  decided.set_value(metric.value());
  decided.set_total_weight(metric.total_weight());
  StepSchedule(metric.value(), &decided);
  decided.mutable_lrs()->Assign(schedule_.lrs().begin(), schedule_.lrs().end());
  if (replay && !SameDecision(decided, metric)) {
    return absl::DataLossError(absl::StrCat(
        "job ", id_, ": replaying the aggregation of step ", metric.step(),
        " decided differently than recorded (", decided.ShortDebugString(), " vs ",
        metric.ShortDebugString(), ")"));
  }
  metric = decided;
  entry.metric = std::move(decided);
  history_.Add(std::move(entry));
  auto ready = waiters_.TakeDecided(decided_step());
  for (auto& callback : ready) released.push_back(std::move(callback));
  return absl::OkStatus();
}

Job::Finish Job::Delete(Done done) {
  Callbacks released;
  MutexLock lock(&mu_);
  if (!deleted_) {
    v1::JobEvent event;
    event.mutable_deleted();
    Emit(std::move(event), released);
  }
  const int64_t sequence = events_.last();
  auto durable = [self = shared_from_this(), sequence, done = std::move(done)](
                     absl::Status status) mutable {
    std::vector<WakeCallback> woken;
    if (status.ok()) {
      MutexLock durable_lock(&self->mu_);
      woken = self->events_.MarkDurable(sequence);
    } else {
      self->Close(absl::UnavailableError(absl::StrCat(
          "job ", self->id_, " could not remove its log: ", status.message())));
    }
    for (auto& wake : woken) std::move(wake)();
    std::move(done)(status);
  };
  Finish removal;
  if (store_ == nullptr) {
    removal = [durable = std::move(durable)]() mutable { std::move(durable)(absl::OkStatus()); };
  } else {
    // Queued now, under the caller's locks, so that it is ordered before
    // the creation of any job under the same id.
    store_->DeleteJob(id_, std::move(durable));
    removal = [] {};
  }
  // Parked Steps ask again and find the job deleted.
  return [released = std::move(released), removal = std::move(removal)]() mutable {
    Run(released, absl::OkStatus());
    std::move(removal)();
  };
}

void Job::Close(const absl::Status& status) {
  Callbacks released;
  std::vector<WakeCallback> watchers;
  {
    MutexLock lock(&mu_);
    closed_ = status;
    released = waiters_.TakeAll();
    watchers = events_.TakeAll();
  }
  if (options_.observer != nullptr) options_.observer->OnClosed(id_, status);
  Run(released, status);
  for (auto& wake : watchers) std::move(wake)();
}

bool Job::closed() const {
  MutexLock lock(&mu_);
  return !closed_.ok();
}

void Job::Run(Callbacks& callbacks, const absl::Status& status) {
  for (auto& callback : callbacks) std::move(callback)(status);
  callbacks.clear();
}

}  // namespace lrsched
