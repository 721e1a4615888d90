// One training job: its schedule, the values of recent steps, the workers'
// metric reports, operator overrides, parked Step calls and the job's events.
//
// The single-assignment guarantee lives here: the values of a step are
// computed once, from the spec, the aggregated metrics and the overrides that
// took effect at or before it, and an override only ever takes effect after
// the furthest step that may have left the server (handed_out_step).
//
// Every change is an event (event.proto) applied through one path, so that a
// job rebuilt from its events (Replay) is the same job. A change is
// acknowledged (its `done` runs) only once its events are durable in the
// EventStore, and values leave the server only up to a handed-out step that
// is durable.
//
// Thread-safe: one mutex per job. Callbacks (parked Steps, event watchers)
// never run under it.
#ifndef LRSCHED_SERVICE_JOB_JOB_H_
#define LRSCHED_SERVICE_JOB_JOB_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "lrsched/v1/event.pb.h"
#include "lrsched/v1/job.pb.h"
#include "lrsched/v1/scheduler_service.pb.h"
#include "service/common/mutex.h"
#include "service/job/metric_history.h"
#include "service/job/metric_reports.h"
#include "service/job/retained_events.h"
#include "service/job/step_waiters.h"
#include "service/job/value_window.h"
#include "service/schedule/schedule.h"
#include "service/store/event_store.h"

namespace lrsched {

// Told of every event a job emits while serving (not of those replayed at
// start-up), and of a job closed by a failure. Called under the job's lock:
// it must neither block nor call back into the job.
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  virtual void OnEvent(const v1::JobEvent& event) = 0;
  virtual void OnClosed(const std::string& job_id, const absl::Status& status) = 0;
  // After OnClosed, when what closed the job is a write of its events that
  // failed: its memory is then ahead of its log, and only a job rebuilt from
  // the log may serve it again.
  virtual void OnWriteFailed(const std::string& /*job_id*/) {}
};

struct JobOptions {
  // Steps of values and of metric history kept; older steps are OUT_OF_RANGE.
  int64_t history_window = 10'000;
  // handed_out_step is raised at least this far at a time, so that recording
  // it costs one event per chunk rather than one per step. An override takes
  // effect after it.
  int64_t handed_out_chunk = 1'000;
  // Events kept in memory for WatchJob; a watcher further behind must start
  // again from the job's current state.
  int64_t max_events = 256;
  // Not owned; may be null.
  JobObserver* observer = nullptr;
};

class Job : public std::enable_shared_from_this<Job> {
 public:
  // Runs once the change it acknowledges is durable (or has failed).
  using Done = absl::AnyInvocable<void(absl::Status) &&>;

  // Creates a job from its (validated) creation request; its events go to
  // `store` (null: keep nothing). The creation event is stored with the
  // job's first commit: call WhenDurable to wait for it.
  // INVALID_ARGUMENT: the spec or base rates are rejected by the math.
  static absl::StatusOr<std::shared_ptr<Job>> Create(const std::string& job_id,
                                                     const v1::JobCreated& created,
                                                     absl::Time now, const JobOptions& options,
                                                     EventStore* store);

  // Rebuilds a job from its log through the same Apply as live calls,
  // checking that every recorded decision comes out the same. DATA_LOSS
  // naming the job, the event and the problem when it does not.
  static absl::StatusOr<std::shared_ptr<Job>> Replay(absl::Span<v1::JobEvent* const> events,
                                                     const JobOptions& options,
                                                     EventStore* store);

  // For std::make_shared only: jobs are made by Create and Replay.
  class Passkey {
    friend class Job;
    Passkey() = default;
  };
  Job(Passkey, std::string id, v1::JobCreated created, Schedule schedule,
      absl::Time create_time, const JobOptions& options, EventStore* store);
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  const std::string& id() const { return id_; }

  // Tells the observer of the job's creation, which Create keeps from it:
  // of the jobs that concurrent creations of one id build, only the one
  // registered is announced. Call once, when it is.
  void AnnounceCreation();

  // OK when `created` asks for this very job; ALREADY_EXISTS naming what
  // differs otherwise.
  absl::Status MatchesCreation(const v1::JobCreated& created) const;

  enum class StepOutcome { kAnswered, kUndecided, kParked };
  // Answers a Step request when its step is decided (kAnswered): fills
  // `response` and runs `done` (at once, or once the handed-out step that
  // covers the answer is durable). Otherwise, with an empty `on_decided`
  // returns kUndecided and answers nothing; with one, parks it (kParked) to run
  // with OK once the step is decided (ask again then) or with the reason it
  // never will be; its id goes to `waiter` (for CancelWaiter) before it can
  // run. A decided step waits too while answering it would push out of the
  // retained window a step that a slower rank has not asked past (recorded
  // as a StepRequested event, so that the others can wait for this rank).
  // Errors passed to `done`: NOT_FOUND (deleted), INVALID_ARGUMENT
  // (rank >= world_size), OUT_OF_RANGE (before the retained window, after the
  // last step, too far past the furthest computed step), UNAVAILABLE
  // (closed, or the store failed).
  StepOutcome Step(const v1::StepRequest& request, v1::StepResponse* response, Done done,
                   StepWaiters::Callback on_decided,
                   std::atomic<StepWaiters::Id>* waiter = nullptr);

  // Takes back a parked Step callback: true if it was still parked (it will
  // never run), false if it has run or is running.
  bool CancelWaiter(StepWaiters::Id waiter);

  // Records a worker's metric; aggregates the step when every worker has
  // reported it, deciding the next step and releasing parked Steps.
  // Errors: NOT_FOUND, INVALID_ARGUMENT (rank), FAILED_PRECONDITION (no
  // metric taken, step undecided or too far ahead, or its metric unused), ALREADY_EXISTS (a
  // different report for the same rank and step), OUT_OF_RANGE (left the window,
  // or too far past the furthest computed step).
  // `done` runs once the report (and the aggregation it completed) is durable.
  void ReportMetric(const v1::ReportMetricRequest& request, v1::ReportMetricResponse* response,
                    Done done);

  // Schedules an operator override (validated) into `override`, with the step
  // it takes effect at: after every step whose values any answer has stated.
  // OUT_OF_RANGE: that step is after the schedule's end.
  void SetLearningRate(const v1::SetLearningRateRequest& request, v1::Override* override,
                       Done done);

  // Changes the number of reporting workers from the step awaiting metrics on.
  void SetWorldSize(int32_t world_size, Done done);

  // Marks the job deleted and queues the removal of its log (so that a job
  // created later under the same id is stored after it). Returns what to run
  // once the caller's locks are released: parked Steps end with NOT_FOUND,
  // watchers after the deletion event, and `done` once the removal is durable.
  using Finish = absl::AnyInvocable<void() &&>;
  [[nodiscard]] Finish Delete(Done done);

  // Runs `done` once every event so far is durable: OK, or why the job
  // cannot make them so (closed, deleted, the store failed).
  void WhenDurable(Done done);

  // Closes the job for this process (server shutdown, a failed write):
  // parked Steps end with `status`, and so do later calls and event reads.
  void Close(const absl::Status& status);
  bool closed() const;

  // About the most memory the job takes, its windows full (values, metric
  // history, kept events): what the server's memory budget charges for it.
  // A function of the creation request and the options alone.
  int64_t worst_case_bytes() const;

  // What GetJob shows. Values and decisions only up to the durable
  // handed-out step: nothing an override could still change. The FULL
  // view's metric history ends before `history_before_step` (0: none) and
  // takes at most kMaxHistoryBytes.
  static constexpr size_t kMaxHistoryBytes = size_t{2} << 20;
  void ToProto(v1::JobView view, v1::Job* job, int64_t history_before_step = 0) const;

  // Copies durable events with sequence >= from_sequence, at most `max`,
  // into `out`. `ended` is set when the job's last event (deletion) has been
  // read. OUT_OF_RANGE: from_sequence is older than the events kept.
  absl::Status ReadEvents(int64_t from_sequence, size_t max, std::vector<v1::JobEvent>* out,
                          bool* ended) const;
  // Parks `wake` to run once an event with sequence >= from_sequence is
  // durable, or the job is closed. Returns an id for CancelEventWait, or 0
  // without parking when such an event exists already (read again).
  using WakeCallback = RetainedEvents::Wake;
  uint64_t WaitForEvent(int64_t from_sequence, WakeCallback wake);
  bool CancelEventWait(uint64_t id);

  // What the server's metrics show of a job, read cheaply.
  struct Gauges {
    v1::SchedulerSpec::KindCase scheduler;
    int32_t waiting_steps;
    int32_t pending_reports;
    std::vector<double> lrs;  // at the latest computed step
  };
  Gauges gauges() const;

 private:
  using Callbacks = std::vector<StepWaiters::Callback>;

  // OK if the job takes calls: NOT_FOUND once deleted, the reason once
  // closed, INVALID_ARGUMENT for a rank outside its world.
  absl::Status CheckOpen(int32_t rank) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The one path by which state changes, the schedule's position included:
  // live (Emit), and on replay (where it checks recorded decisions instead
  // of filling them in). Fails only for an event that does not fit.
  absl::Status Apply(v1::JobEvent& event, Callbacks& released, bool replay)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplyReport(const v1::JobEvent& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplyAggregation(v1::StepAggregated& aggregated, Callbacks& released,
                                bool replay) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplyOverride(const v1::Override& override) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stamps a new event, applies it and keeps it for the store and watchers.
  void Emit(v1::JobEvent event, Callbacks& released) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a call: queues the events it emitted to the store, so that `done`
  // (with `status`) and the released callbacks run once they are durable;
  // with `barrier`, waits for earlier events even if it emitted none.
  // Returns what to run after unlocking.
  Finish Commit(Callbacks released, Done done, absl::Status status, bool barrier)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Once events up to `sequence` (and the handed-out step `handed_out`) are
  // durable: the readers to wake; the close reason instead when the job was
  // closed meanwhile (a commit after a failed one).
  absl::Status MarkDurable(int64_t sequence, int64_t handed_out,
                           std::vector<WakeCallback>& woken) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Raises the handed-out step to cover `last` (the last value an answer
  // about to be given states), a chunk ahead where the schedule is decided,
  // yet never past reachable_step(rank, first).
  void RaiseHandedOut(int32_t rank, int64_t first, int64_t last, Callbacks& released)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The furthest step values may be computed to without pushing out of the
  // retained window a step that some rank has not asked past, `rank` (if
  // not -1) counted as asking for `step`.
  int64_t reachable_step(int32_t rank, int64_t step) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records (an event) that `rank` asked for `step`, past the handed-out
  // step, where it moves the rank on and other ranks may wait for it.
  void RecordRequest(int32_t rank, int64_t step, Callbacks& released)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `rank`, asking for `step`, no longer holds back the lowest Step
  // that waits on the retained window (and did before): then its request is
  // recorded, which releases that Step if no other rank holds it back.
  bool StopsHoldingBack(int32_t rank, int64_t step) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `rank` asked for `step` and was answered or waits: a step refused is
  // not where a worker is (Job.worker_steps).
  void NoteAsked(int32_t rank, int64_t step) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Releases the parked Steps that ranks' progress has made reachable.
  void ReleaseReachable(Callbacks& released) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Aggregates the pending step if every worker has reported it, and
  // reserves the step it decides, so that no override can change a value
  // that the decision states.
  void MaybeAggregate(Callbacks& released) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  int64_t decided_step() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Computes metric-free steps up to `target` (Apply only).
  void Advance(int64_t target) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes one step(), applies the overrides of the new step and records its
  // values. With `decision`, fills in what the scheduler decided.
  // False, changing nothing, where the schedule ends (see Schedule::Step).
  bool StepSchedule(double metric, v1::AggregatedMetric* decision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Parks `on_decided` to run once `step` may be answered (kParked), or
  // returns kUndecided without it.
  StepOutcome Park(int64_t step, StepWaiters::Callback on_decided,
                   std::atomic<StepWaiters::Id>* waiter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OUT_OF_RANGE when reaching `step` would take one call too long.
  absl::Status CheckComputable(int64_t step) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OUT_OF_RANGE for `step`, past the schedule's end, with the reason.
  absl::Status EndedError(int64_t step) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The furthest step whose values may be shown.
  int64_t shown_step() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AnswerAggregated(int64_t step, int32_t rank, const MetricReport& report,
                                v1::ReportMetricResponse* response) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::JobEvent CreationEvent() const;
  static void Run(Callbacks& callbacks, const absl::Status& status);

  const std::string id_;
  EventStore* const store_;
  const v1::JobCreated created_;
  const absl::Time create_time_;
  const JobOptions options_;

  mutable Mutex mu_;
  Schedule schedule_ ABSL_GUARDED_BY(mu_);  // at the furthest computed step
  int32_t world_size_ ABSL_GUARDED_BY(mu_);
  // Per rank, the furthest step it is known to have asked for or reported
  // (from the log alone, so that replay agrees): it needs no earlier step.
  std::vector<int64_t> rank_steps_ ABSL_GUARDED_BY(mu_);
  // False while Create emits the creation, which AnnounceCreation tells.
  bool observed_ ABSL_GUARDED_BY(mu_) = true;
  // Per rank, the furthest step it asked for or reported (Job.worker_steps).
  std::vector<int64_t> worker_steps_ ABSL_GUARDED_BY(mu_);
  // The most steps after the asked one that leave the server at a time
  // (CreateJobRequest.max_look_ahead); 0: as many as asked, reserved in
  // chunks of options_.handed_out_chunk.
  const int64_t look_ahead_limit_;
  bool creation_announced_ ABSL_GUARDED_BY(mu_) = false;
  int64_t handed_out_ ABSL_GUARDED_BY(mu_) = -1;
  // The furthest handed-out step that is durable: values leave only up to it.
  int64_t durable_handed_out_ ABSL_GUARDED_BY(mu_) = -1;
  // Events emitted by the current call, not yet queued to the store.
  std::vector<v1::JobEvent> unsaved_ ABSL_GUARDED_BY(mu_);
  bool deleted_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status closed_ ABSL_GUARDED_BY(mu_);
  // Values of the retained steps, up to schedule_.step().
  ValueWindow values_ ABSL_GUARDED_BY(mu_);
  // Reports of the step awaiting its metric.
  MetricReports pending_ ABSL_GUARDED_BY(mu_);
  MetricHistory history_ ABSL_GUARDED_BY(mu_);
  // What GetJob shows: overrides of retained steps and of steps to come, and
  // their serialized size (bounded by kMaxOverrideBytes).
  std::vector<v1::Override> overrides_ ABSL_GUARDED_BY(mu_);
  size_t override_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Overrides not applied yet, by effective step, in order of arrival.
  std::vector<v1::Override> pending_overrides_ ABSL_GUARDED_BY(mu_);
  StepWaiters waiters_ ABSL_GUARDED_BY(mu_);
  RetainedEvents events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_JOB_JOB_H_
