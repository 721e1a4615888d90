"""lrsched.WorkerSchedule: one worker's view of one job, shaped like a PyTorch
scheduler.

The Python twin of the C++ ``lrsched::WorkerSchedule``. ``step()`` gives the
values of the next step and advances; ``report_metric()`` reports the metric
of the step given last. It asks the server for a window of ``look_ahead``
steps at a time and serves later steps from it, so a schedule without
metrics costs about one RPC per window: 10,000 steps with the default
window of 1,000 take ten Step calls. With ``prefetch``, a window that comes
back full is followed at once by a request for the next one, on a background
thread, so that the loop does not wait for the round trip. Through its Client
it rides out server
restarts: Step and ReportMetric are idempotent per (rank, step), so every
transient outcome is asked again until the client's give_up_after.

Not thread-safe: one per worker and job.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field

from lrsched.client import Client
from lrsched.v1 import scheduler_service_pb2 as service_pb2


@dataclass(slots=True)
class StepRates:
    """The values in force at one step."""

    step: int
    # Learning rate of each parameter group.
    lrs: list[float]
    # Momentum (SGD) or beta1 (Adam) of each group; empty unless the schedule
    # cycles momentum.
    momentums: list[float] = field(default_factory=list)


class _Prefetch:
    """One Step call running on a daemon thread (a daemon, so that a call
    still retrying through an outage never holds up the interpreter's exit)."""

    def __init__(self, fetch, step: int):
        self.step = step
        self._done = threading.Event()
        self._rates: list[StepRates] | None = None
        threading.Thread(target=self._run, args=(fetch,), daemon=True).start()

    def _run(self, fetch) -> None:
        try:
            self._rates = fetch(self.step)
        except Exception:  # pylint: disable=broad-except
            # Asked ahead of need: the error (say, past the schedule's end)
            # is the caller's only if it asks for that step itself.
            pass
        self._done.set()

    def result(self) -> list[StepRates] | None:
        self._done.wait()
        return self._rates


class WorkerSchedule:
    """Steps through one job's values as rank ``rank``.

    Args:
        client: the connection; it must outlive the schedule.
        job_id: the job.
        rank: this worker, 0 <= rank < the job's world size.
        look_ahead: steps asked for beyond the one needed (at most 100000).
        first_step: the step the first ``step()`` gives.
        prefetch: when a window comes back full (its steps were decided ahead,
            as in a schedule without metrics), ask for the next window on a
            background thread at once, so that the training loop does not
            wait for the round trip (and the server's durable write) when it
            reaches the end of the window. It costs one more RPC at the end
            of a run and a thread's share of the GIL, and moves the server's
            retained window one window further ahead; worth it when the
            server is far away or slow to answer.
    """

    def __init__(self, client: Client, job_id: str, rank: int, look_ahead: int = 1000,
                 first_step: int = 0, prefetch: bool = False):
        self._client = client
        self.job_id = job_id
        self.rank = rank
        self.look_ahead = look_ahead
        self.prefetch = prefetch
        self._next_step = first_step
        self._window: collections.deque[StepRates] = collections.deque()
        self._pending: _Prefetch | None = None
        self._rpcs = 0

    @property
    def step_rpcs(self) -> int:
        """Step calls made so far, those made ahead of need included."""
        return self._rpcs

    @property
    def current_step(self) -> int:
        """The step ``step()`` gave last; first_step - 1 before the first."""
        return self._next_step - 1

    def seek(self, step: int) -> None:
        """Makes the next ``step()`` give ``step`` (e.g. when resuming)."""
        self._next_step = step

    def step(self) -> StepRates:
        """The values of the next step. Blocks while that step is undecided
        (its metric not yet reported by every worker) and while the server
        is away; raises the server's other errors as lrsched.RpcError."""
        window = self._window
        if window and window[0].step == self._next_step:
            # The common case, kept short: a schedule steps once per batch.
            self._next_step += 1
            return window.popleft()
        while window and window[0].step < self._next_step:
            window.popleft()
        if window and window[0].step != self._next_step:
            window.clear()  # after a seek backwards
        if not window:
            rates = None
            pending, self._pending = self._pending, None
            if pending is not None and pending.step == self._next_step:
                rates = pending.result()
            if not rates:
                rates = self._fetch(self._next_step)
            window.extend(rates)
            if not window or window[0].step != self._next_step:
                raise RuntimeError(f"the server answered Step {self._next_step} of job "
                                   f"{self.job_id!r} without that step")
            if self.prefetch and len(rates) > self.look_ahead:
                self._pending = _Prefetch(self._fetch, rates[-1].step + 1)
        self._next_step += 1
        return window.popleft()

    def _fetch(self, step: int) -> list[StepRates]:
        self._rpcs += 1
        response = self._client.step(self.job_id, self.rank, step, self.look_ahead)
        # Slicing copies a repeated field about twice as fast as list().
        return [StepRates(v.step, v.lrs[:], v.momentums[:]) for v in response.values]

    def report_metric(self, value: float, weight: float = 1.0
                      ) -> service_pb2.ReportMetricResponse:
        """Reports the metric of the step ``step()`` gave last. ``weight``
        counts in WEIGHTED_MEAN aggregation, e.g. the number of validation
        samples of this worker."""
        if self.current_step < 0:
            raise RuntimeError("report_metric() before the first step()")
        return self._client.report_metric(job_id=self.job_id, rank=self.rank,
                                          step=self.current_step, value=float(value),
                                          weight=float(weight))
