"""PyTorch drop-in: the schedule of a training job held by an lrsched server.

Two lines turn a local scheduler into the service's::

    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=10_000)
    scheduler = lrsched.torch.RemoteScheduler(optimizer, "my-job", scheduler, server="host:50051")

The training loop stays as it is: ``scheduler.step()`` (or
``scheduler.step(val_loss)`` for ReduceLROnPlateau) sets the optimizer's
learning rates (and momentum or Adam's beta1 where the schedule cycles
them), bit for bit those of PyTorch's own scheduler, and the same on every
rank of a data-parallel job.

- :func:`spec_from` turns a constructed PyTorch scheduler of any of the 13
  classes lrsched serves into a ``lrsched.v1.SchedulerSpec``, reading the
  scheduler's own attributes.
- :class:`RemoteScheduler` is the object a training loop calls.
"""

from __future__ import annotations

import math
import operator
import warnings
from typing import Any, Callable

import torch
from torch.optim import lr_scheduler as S

from lrsched import errors
from lrsched.client import Client, to_spec
from lrsched.v1 import job_pb2, scheduler_spec_pb2 as spec_pb2
from lrsched.worker_schedule import StepRates, WorkerSchedule

__all__ = ["RemoteScheduler", "UnsupportedSchedulerError", "base_lrs_from", "spec_from"]

# ReduceLROnPlateau is not an _LRScheduler in PyTorch 1.13; LRScheduler is
# the public name from 2.0 on.
_SCHEDULER_BASES = tuple(b for b in (getattr(S, "LRScheduler", None),
                                     getattr(S, "_LRScheduler", None), S.ReduceLROnPlateau)
                         if b is not None)
_SUPPORTED = ("StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, CyclicLR, "
              "ReduceLROnPlateau, LinearLR, ConstantLR, PolynomialLR, OneCycleLR, "
              "CosineAnnealingWarmRestarts, SequentialLR, ChainedScheduler")


class UnsupportedSchedulerError(errors.Error, TypeError):
    """The scheduler cannot be described as a lrsched spec."""


# ---------------------------------------------------------------- spec_from


def _exact(name: str, candidate: float, fits: Callable[[float], bool]) -> float:
    """A float x with fits(x), near `candidate`, preferring short decimals.

    PyTorch keeps some constructor arguments only through values derived from
    them (CyclicLR's total size and ratio, OneCycleLR's phase ends and
    per-group rates). The server derives those values again with the same
    float64 operations, so any argument that derives them bit for bit gives
    the same schedule; the user's own (usually short) decimal is tried first.
    """
    def fits_safely(x: float) -> bool:
        # A short decimal tried on the way may be 0 (round(0.3, 0)), and
        # `fits` may divide by it.
        try:
            return fits(x)
        except (ZeroDivisionError, OverflowError):
            return False

    if math.isfinite(candidate):
        for digits in range(17):
            x = round(candidate, digits)
            if fits_safely(x):
                return x
        for direction in (math.inf, -math.inf):
            x = candidate
            for _ in range(64):
                if fits_safely(x):
                    return x
                x = math.nextafter(x, direction)
    raise UnsupportedSchedulerError(f"{name}: cannot recover a value that reproduces the "
                                    f"scheduler's state exactly (near {candidate!r})")


def _per_group(values) -> list[float]:
    """One value for every group when they agree, as PyTorch's callers write it."""
    values = [float(v) for v in values]
    return values[:1] if values and all(v == values[0] for v in values) else values


def _int(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not float(value).is_integer():
        raise UnsupportedSchedulerError(f"{owner}.{name}: lrsched takes a whole number, "
                                        f"got {value!r}")
    return int(value)


def _cyclic(s: S.CyclicLR) -> spec_pb2.SchedulerSpec:
    if getattr(s, "_scale_fn_custom", None) is not None:
        raise UnsupportedSchedulerError(
            "CyclicLR with a scale_fn: a Python function cannot run in the lrsched server; "
            "use mode='triangular', 'triangular2' or 'exp_range'")
    total, ratio = s.total_size, s.step_ratio
    # PyTorch keeps only total = up + down and ratio = up / total.
    up = _exact("CyclicLR.step_size_up", total * ratio, lambda u: u / total == ratio)
    down = _exact("CyclicLR.step_size_down", total - up,
                  lambda d: up + d == total and up / (up + d) == ratio)
    spec = spec_pb2.CyclicLR(
        base_lr=_per_group(s.base_lrs), max_lr=_per_group(s.max_lrs), step_size_up=up,
        step_size_down=down, mode=spec_pb2.CyclicLR.Mode.Value(s.mode.upper()),
        gamma=float(s.gamma), scale_mode=spec_pb2.CyclicLR.ScaleMode.Value(s.scale_mode.upper()),
        cycle_momentum=bool(s.cycle_momentum))
    if s.cycle_momentum:
        spec.base_momentum.extend(_per_group(s.base_momentums))
        spec.max_momentum.extend(_per_group(s.max_momentums))
    return spec_pb2.SchedulerSpec(cyclic_lr=spec)


def _ratio(numerators, denominators, default: float) -> float:
    """numerator / denominator of the first group where that is a number
    (a group may have a max_lr of 0, to freeze it); `default` when none is."""
    for n, d in zip(numerators, denominators):
        if d != 0 and math.isfinite(n / d) and n / d != 0:
            return n / d
    return default


def _one_cycle(s: S.OneCycleLR) -> spec_pb2.SchedulerSpec:
    groups = s.optimizer.param_groups
    max_lrs = [g["max_lr"] for g in groups]
    initial = [g["initial_lr"] for g in groups]
    minimum = [g["min_lr"] for g in groups]
    div = _exact("OneCycleLR.div_factor", _ratio(max_lrs, initial, 25.0),
                 lambda d: all(m / d == i for m, i in zip(max_lrs, initial)))
    final_div = _exact("OneCycleLR.final_div_factor", _ratio(initial, minimum, 1e4),
                       lambda f: all(i / f == m for i, m in zip(initial, minimum)))
    phases, total = s._schedule_phases, s.total_steps

    def fits(p: float) -> bool:
        return 0.0 <= p <= 1.0 and float(p * total) - 1 == phases[0]["end_step"] and (
            len(phases) == 2 or float(2 * p * total) - 2 == phases[1]["end_step"])

    pct = _exact("OneCycleLR.pct_start", (phases[0]["end_step"] + 1) / total, fits)
    # PyTorch 1.13 keeps the bound function; 2.2 on, the strategy's name.
    strategy = getattr(s, "_anneal_func_type", None)
    linear = strategy == "linear" if strategy is not None else (
        getattr(getattr(s, "anneal_func", None), "__func__", None)
        is S.OneCycleLR._annealing_linear)
    spec = spec_pb2.OneCycleLR(
        max_lr=_per_group(max_lrs), total_steps=int(total), pct_start=pct,
        anneal_strategy=spec_pb2.OneCycleLR.LINEAR if linear else spec_pb2.OneCycleLR.COS,
        cycle_momentum=bool(s.cycle_momentum), div_factor=div, final_div_factor=final_div,
        three_phase=len(phases) == 3)
    if s.cycle_momentum:
        spec.base_momentum.extend(_per_group(g["base_momentum"] for g in groups))
        spec.max_momentum.extend(_per_group(g["max_momentum"] for g in groups))
    return spec_pb2.SchedulerSpec(one_cycle_lr=spec)


def _plateau(s: S.ReduceLROnPlateau) -> spec_pb2.SchedulerSpec:
    P = spec_pb2.ReduceLROnPlateau
    return spec_pb2.SchedulerSpec(reduce_lr_on_plateau=P(
        mode=P.Mode.Value(s.mode.upper()), factor=float(s.factor),
        patience=_int("ReduceLROnPlateau", "patience", s.patience),
        threshold=float(s.threshold),
        threshold_mode=P.ThresholdMode.Value(s.threshold_mode.upper()),
        cooldown=_int("ReduceLROnPlateau", "cooldown", s.cooldown),
        min_lr=_per_group(s.min_lrs), eps=float(s.eps)))


_SPECS: dict[type, Callable[[Any], spec_pb2.SchedulerSpec]] = {
    S.StepLR: lambda s: spec_pb2.SchedulerSpec(step_lr=spec_pb2.StepLR(
        step_size=_int("StepLR", "step_size", s.step_size), gamma=float(s.gamma))),
    S.MultiStepLR: lambda s: spec_pb2.SchedulerSpec(multi_step_lr=spec_pb2.MultiStepLR(
        milestones=[_int("MultiStepLR", "milestones", m) for m in sorted(s.milestones.elements())],
        gamma=float(s.gamma))),
    S.ExponentialLR: lambda s: spec_pb2.SchedulerSpec(exponential_lr=spec_pb2.ExponentialLR(
        gamma=float(s.gamma))),
    S.CosineAnnealingLR: lambda s: spec_pb2.SchedulerSpec(
        cosine_annealing_lr=spec_pb2.CosineAnnealingLR(
            t_max=_int("CosineAnnealingLR", "T_max", s.T_max), eta_min=float(s.eta_min))),
    S.CyclicLR: _cyclic,
    S.ReduceLROnPlateau: _plateau,
    S.LinearLR: lambda s: spec_pb2.SchedulerSpec(linear_lr=spec_pb2.LinearLR(
        start_factor=float(s.start_factor), end_factor=float(s.end_factor),
        total_iters=_int("LinearLR", "total_iters", s.total_iters))),
    S.ConstantLR: lambda s: spec_pb2.SchedulerSpec(constant_lr=spec_pb2.ConstantLR(
        factor=float(s.factor), total_iters=_int("ConstantLR", "total_iters", s.total_iters))),
    S.PolynomialLR: lambda s: spec_pb2.SchedulerSpec(polynomial_lr=spec_pb2.PolynomialLR(
        total_iters=_int("PolynomialLR", "total_iters", s.total_iters), power=float(s.power))),
    S.OneCycleLR: _one_cycle,
    S.CosineAnnealingWarmRestarts: lambda s: spec_pb2.SchedulerSpec(
        cosine_annealing_warm_restarts=spec_pb2.CosineAnnealingWarmRestarts(
            t_0=_int("CosineAnnealingWarmRestarts", "T_0", s.T_0),
            t_mult=_int("CosineAnnealingWarmRestarts", "T_mult", s.T_mult),
            eta_min=float(s.eta_min))),
    S.SequentialLR: lambda s: spec_pb2.SchedulerSpec(sequential_lr=spec_pb2.SequentialLR(
        # SequentialLR's constructor moved its children back a step and
        # stepped the first one again.
        schedulers=[_spec(child, 0 if i == 0 else -1, s)
                    for i, child in enumerate(s._schedulers)],
        milestones=[_int("SequentialLR", "milestones", m) for m in s._milestones])),
    S.ChainedScheduler: lambda s: spec_pb2.SchedulerSpec(
        chained_scheduler=spec_pb2.ChainedScheduler(
            schedulers=[_spec(child, 0, s) for child in s._schedulers])),
}

_COMPOSITES = (S.SequentialLR, S.ChainedScheduler)


def spec_from(scheduler) -> spec_pb2.SchedulerSpec:
    """The lrsched spec of a freshly constructed PyTorch scheduler.

    Reads the scheduler's own attributes (and, for OneCycleLR, the values it
    stored in the optimizer's parameter groups), so the spec reproduces the
    scheduler's numbers bit for bit. SequentialLR and ChainedScheduler are
    described with their children. A SequentialLR whose last child is a
    ReduceLROnPlateau is lrsched's warm-up-then-plateau schedule (PyTorch
    itself would hand that child the epoch as a metric).

    Raises:
        ValueError: a scheduler that has stepped since its construction, or
            that was constructed with a last_epoch other than -1 (resuming).
        UnsupportedSchedulerError (a TypeError): LambdaLR and
            MultiplicativeLR (their rule is a Python function), CyclicLR with
            a scale_fn, a SequentialLR or ChainedScheduler inside another,
            and any other class, subclasses included (a subclass may compute
            differently).
    """
    return _spec(scheduler, 0, None)


def _spec(scheduler, fresh_epoch: int, parent) -> spec_pb2.SchedulerSpec:
    """spec_from of `scheduler`, whose last_epoch is `fresh_epoch` when it
    has not stepped nor been constructed at a later epoch; `parent` is the
    composite holding it, if any."""
    kind = type(scheduler)
    if parent is not None and kind in _COMPOSITES:
        raise UnsupportedSchedulerError(
            f"a {kind.__name__} inside a {type(parent).__name__}: lrsched's SequentialLR and "
            f"ChainedScheduler hold schedulers of the other classes, not another "
            f"SequentialLR or ChainedScheduler")
    if kind in (S.LambdaLR, S.MultiplicativeLR):
        raise UnsupportedSchedulerError(
            f"{kind.__name__} computes the learning rate with a Python function (lr_lambda), "
            f"which cannot run in the lrsched server; use one of {_SUPPORTED}, or give the "
            f"schedule as a spec")
    make = _SPECS.get(kind)
    if make is None:
        raise UnsupportedSchedulerError(
            f"{kind.__module__}.{kind.__qualname__} is not one of the scheduler classes "
            f"lrsched serves ({_SUPPORTED}; subclasses are refused, as they may compute "
            f"differently)")
    # The constructor steps once (_step_count 1); ReduceLROnPlateau does not.
    stepped = (scheduler.last_epoch - fresh_epoch if kind is S.ReduceLROnPlateau
               else getattr(scheduler, "_step_count", 1) - 1)
    if stepped > 0:
        raise ValueError(f"{kind.__name__} has already stepped {stepped} times: spec_from "
                         f"takes a freshly constructed scheduler, as the job starts at step 0 "
                         f"(to resume a run, use RemoteScheduler.load_state_dict)")
    # After the children's checks, which name a child that has stepped.
    spec = make(scheduler)
    # PyTorch's way to resume: a scheduler constructed with last_epoch=k
    # starts at epoch k + 1. The job would start at step 0 all the same.
    epoch = getattr(scheduler, "last_epoch", fresh_epoch)
    if epoch != fresh_epoch:
        raise ValueError(f"{kind.__name__} is at epoch {epoch - fresh_epoch} (constructed with "
                         f"last_epoch={epoch - fresh_epoch - 1}): spec_from takes a scheduler "
                         f"constructed with last_epoch=-1, as the job starts at step 0 (to resume "
                         f"a run, use RemoteScheduler.load_state_dict)")
    return spec


def _first_leaf(scheduler):
    while type(scheduler) in (S.SequentialLR, S.ChainedScheduler):
        scheduler = scheduler._schedulers[0]
    return scheduler


def base_lrs_from(scheduler) -> list[float]:
    """The optimizer's learning rates before ``scheduler`` was constructed:
    the base rates the server's schedule starts from.

    The first scheduler constructed on the optimizer recorded them as its
    base_lrs (``initial_lr``); children constructed later may overwrite the
    groups' ``initial_lr`` (OneCycleLR does), which the server reproduces.
    CyclicLR and OneCycleLR replace the optimizer's rate by their own, so
    for them the rate left in ``initial_lr`` is as good as any.
    """
    leaf = _first_leaf(scheduler)
    groups = scheduler.optimizer.param_groups
    if isinstance(leaf, S.ReduceLROnPlateau):
        return [float(g["lr"]) for g in groups]
    if isinstance(leaf, (S.CyclicLR, S.OneCycleLR)):
        return [float(g.get("initial_lr", g["lr"])) for g in groups]
    return [float(lr) for lr in leaf.base_lrs]


def _metric_from_step(spec: spec_pb2.SchedulerSpec) -> int | None:
    """The first step whose metric decides anything; None for a metric-free
    schedule."""
    kind = spec.WhichOneof("kind")
    if kind == "reduce_lr_on_plateau":
        return 0
    if kind == "sequential_lr":
        children = spec.sequential_lr.schedulers
        if children and children[-1].WhichOneof("kind") == "reduce_lr_on_plateau":
            milestones = spec.sequential_lr.milestones
            return milestones[-1] if milestones else 0
    return None


# ---------------------------------------------------------------- RemoteScheduler


def _distributed() -> tuple[int, int] | None:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return None


class RemoteScheduler:
    """A learning-rate scheduler whose values come from an lrsched server.

    The constructor creates the job (idempotently: every rank sends the
    same request, as the C++ trainer does, and a job that exists with the
    same request is simply joined) and sets the values of step 0 on the
    optimizer, as a PyTorch scheduler's constructor does.

    Args:
        optimizer: the torch.optim optimizer whose groups get the values.
        job_id: the job's id (1 to 128 characters of [A-Za-z0-9._-]).
        spec_or_scheduler: a constructed PyTorch scheduler (see spec_from),
            a lrsched.v1.SchedulerSpec, its proto3 JSON form as a dict or a
            string, or None to join an existing job as it is.
        server: "host:port" of the lrsched server.
        rank, world_size: this worker and the number of workers reporting
            metrics; by default torch.distributed's when it is initialised,
            else 0 and 1.
        base_lrs: the base learning rate of each group; by default the
            optimizer's (its ``initial_lr``), or for a scheduler object, the
            rates before the scheduler changed them.
        aggregation: how the ranks' metrics of a step combine: "WEIGHTED_MEAN"
            (default; weights are step()'s ``weight``), "MEAN", "MIN", "MAX".
        look_ahead: steps fetched per Step call beyond the one needed.
        max_look_ahead: creating the job, the most steps past the one asked
            for that the server hands out at a time (0, the default: as many
            as asked). Smaller: an operator's override (SetLearningRate)
            takes effect sooner; larger: fewer Step calls.
        prefetch: fetch the next window in the background as soon as a full
            one arrives (see WorkerSchedule; off by default).
        client: a lrsched.Client to use instead of one made from ``server``
            and ``client_options`` (e.g. give_up_after=60, call_timeout=5).

    Raises:
        UnsupportedSchedulerError: a scheduler spec_from cannot describe.
        lrsched.AlreadyExistsError: the job exists with a different spec,
            base rates or world size (the message says which).
        lrsched.InvalidArgumentError: a spec, rate or rank the server refuses
            (the message names the field and the rule).
        lrsched.UnavailableError: no server answered within give_up_after.
        ValueError: a job of another number of parameter groups, or a
            schedule that cycles momentum on an optimizer without any.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, job_id: str,
                 spec_or_scheduler: Any = None, server: str = "localhost:50051",
                 rank: int | None = None, world_size: int | None = None, *,
                 base_lrs: list[float] | None = None, aggregation: str | int = "WEIGHTED_MEAN",
                 look_ahead: int = 1000, max_look_ahead: int = 0, prefetch: bool = False,
                 client: Client | None = None,
                 **client_options):
        self.optimizer = optimizer
        self.job_id = job_id
        distributed = _distributed()
        if rank is None:
            rank = distributed[0] if distributed else 0
        if world_size is None:
            world_size = distributed[1] if distributed else 1
        if isinstance(world_size, int) and world_size < 1:
            raise ValueError(f"world_size must be at least 1, got {world_size}")
        self.rank, self.world_size = rank, world_size
        self._client = client if client is not None else Client(server, **client_options)
        self._owns_client = client is None
        groups = optimizer.param_groups

        if spec_or_scheduler is None:
            job = self._client.get_job(job_id, view=job_pb2.JOB_VIEW_BASIC)
            if len(job.base_lrs) != len(groups):
                raise ValueError(f"job {job_id!r} has {len(job.base_lrs)} parameter groups, "
                                 f"the optimizer {len(groups)}")
        else:
            if isinstance(spec_or_scheduler, _SCHEDULER_BASES):
                spec = spec_from(spec_or_scheduler)
                default_base = base_lrs_from(spec_or_scheduler)
            else:
                spec = to_spec(spec_or_scheduler)
                default_base = [float(g.get("initial_lr", g["lr"])) for g in groups]
            if isinstance(aggregation, str):
                try:
                    aggregation = job_pb2.Aggregation.Value(aggregation.upper())
                except ValueError:
                    raise ValueError(f"aggregation: {aggregation!r} is not one of WEIGHTED_MEAN, "
                                     f"MEAN, MIN, MAX") from None
            job = self._client.create_job(
                job_id=job_id, spec=spec,
                base_lrs=list(base_lrs) if base_lrs is not None else default_base,
                world_size=world_size, aggregation=aggregation, max_look_ahead=max_look_ahead)
        self.spec = job.spec
        self.base_lrs = list(job.base_lrs)
        self._metric_from = _metric_from_step(job.spec)
        self._schedule = WorkerSchedule(self._client, job_id, rank, look_ahead,
                                        prefetch=prefetch)
        self.last_epoch = -1
        self._last_lr: list[float] = []
        self._last_momentum: list[float] = []
        # A job resumed far into its run may no longer serve step 0; then
        # load_state_dict() gives the position.
        self._not_started: errors.OutOfRangeError | None = None
        # Set by load_state_dict(): steps may be replayed (see _report).
        self._resumed = self._warned_replay = False
        try:
            self._apply(self._schedule.step())
        except errors.OutOfRangeError as error:
            self._not_started = error

    # ------------------------------------------------------------ PyTorch's API

    def step(self, metrics: float | None = None, *, weight: float = 1.0) -> None:
        """Moves to the next step and sets its values on the optimizer.

        With a schedule that ends in ReduceLROnPlateau, ``metrics`` is this
        worker's metric of the current step (e.g. its validation loss;
        ``weight``, e.g. its number of samples, counts in WEIGHTED_MEAN
        aggregation). It is reported, then step() waits until every rank has
        reported and the server has decided the next step. Metrics of
        warm-up steps are not needed and not sent. After load_state_dict(),
        a step this rank reported before it resumed keeps the metric reported
        then (the server decides each step once), with a RuntimeWarning when
        the new one differs.
        """
        if self._not_started is not None:
            raise errors.OutOfRangeError(
                self._not_started.method, self._not_started.code,
                f"{self._not_started.details} (step 0 is no longer served: call "
                f"load_state_dict() with the state of the run to resume)")
        step = self.last_epoch
        needs_metric = self._metric_from is not None and step >= self._metric_from
        if metrics is not None:
            if self._metric_from is None:
                raise TypeError(f"step(metrics): the schedule of job {self.job_id!r} "
                                f"({self.spec.WhichOneof('kind')}) takes no metric; call step()")
            value = float(metrics)
            if needs_metric:
                self._report(step, value, weight)
        elif needs_metric:
            raise TypeError(f"step(): step {step} of job {self.job_id!r} needs a metric, as "
                            f"ReduceLROnPlateau decides the next learning rate from it; "
                            f"call step(metrics)")
        self._apply(self._schedule.step())

    def _report(self, step: int, value: float, weight: float) -> None:
        """Reports this rank's metric of `step`. A run resumed from an
        earlier checkpoint (load_state_dict()) replays steps that this rank
        reported before it stopped, with metrics that need not be the same
        to the last bit (another shuffle, another reduction order): the
        report made then stands, as the server's decision from it does.
        Outside a resumed run, a different report for the same rank and step
        is an error (two processes with one rank, a job id used again)."""
        try:
            self._schedule.report_metric(value, weight)
        except errors.AlreadyExistsError as error:
            if not self._resumed:
                raise
            if not self._warned_replay:
                self._warned_replay = True
                warnings.warn(f"job {self.job_id!r}: rank {self.rank} reported step {step} before "
                              f"the run resumed, with another metric; the metric reported then "
                              f"stands ({error.details})", RuntimeWarning, stacklevel=3)

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group at the current step."""
        return list(self._last_lr)

    def get_last_momentum(self) -> list[float]:
        """Momentum (or beta1) of each group at the current step; empty
        unless the schedule cycles momentum."""
        return list(self._last_momentum)

    def state_dict(self) -> dict:
        """The position in the job: enough to resume with load_state_dict()
        (the schedule itself lives on the server). A position can be resumed
        while its step is in the job's retained window (the server's
        --history_window, 10,000 steps by default, behind the furthest step
        the job's slowest rank has asked for)."""
        return {"job_id": self.job_id, "last_epoch": self.last_epoch,
                "_last_lr": list(self._last_lr)}

    def load_state_dict(self, state_dict: dict) -> None:
        """Resumes at the step of ``state_dict`` and sets its values on the
        optimizer, which are the values that step had before (the server
        decides each step once)."""
        if state_dict.get("job_id") != self.job_id:
            raise ValueError(f"state_dict['job_id'] is {state_dict.get('job_id')!r}, not this "
                             f"scheduler's job {self.job_id!r}")
        given = state_dict["last_epoch"]
        try:
            # Any integer (a NumPy or 0-d tensor one too), not a bool.
            step = operator.index(given) if not isinstance(given, bool) else None
        except TypeError:
            step = None
        if step is None or step < 0:
            raise ValueError(f"state_dict['last_epoch'] must be a step >= 0, got {given!r}")
        # A failed load leaves the scheduler where it was.
        position = self._schedule.current_step + 1
        self._schedule.seek(step)
        try:
            rates = self._schedule.step()
            expected = state_dict.get("_last_lr")
            if expected is not None and [float(x) for x in expected] != rates.lrs:
                raise ValueError(f"state_dict['_last_lr'] is {list(expected)}, but job "
                                 f"{self.job_id!r} has {rates.lrs} at step {step}: a state of "
                                 f"another job?")
        except BaseException:
            self._schedule.seek(position)
            raise
        self._not_started = None
        self._resumed, self._warned_replay = True, False
        self._apply(rates)

    def close(self) -> None:
        """Closes the connection this scheduler opened (not a given client)."""
        if self._owns_client:
            self._client.close()

    @property
    def step_rpcs(self) -> int:
        """Step calls made so far."""
        return self._schedule.step_rpcs

    # ------------------------------------------------------------ internals

    def _apply(self, rates: StepRates) -> None:
        groups = self.optimizer.param_groups
        if len(rates.lrs) != len(groups):
            raise ValueError(f"job {self.job_id!r} has {len(rates.lrs)} parameter groups, "
                             f"the optimizer {len(groups)}")
        for group, lr in zip(groups, rates.lrs):
            group["lr"] = lr
        for group, momentum in zip(groups, rates.momentums) if rates.momentums else ():
            # Where PyTorch's CyclicLR and OneCycleLR put it: Adam's beta1,
            # else SGD's momentum.
            if "betas" in group:
                group["betas"] = (momentum, *group["betas"][1:])
            elif "momentum" in group:
                group["momentum"] = momentum
            else:
                raise ValueError(f"job {self.job_id!r} cycles momentum, but the optimizer "
                                 f"{type(self.optimizer).__name__} has neither momentum nor "
                                 f"betas")
        # The window's lists are this scheduler's own: no copies per step.
        self._last_lr = rates.lrs
        self._last_momentum = rates.momentums
        self.last_epoch = rates.step
