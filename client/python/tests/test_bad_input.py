"""Bad input gives clear Python exceptions naming the problem: an
unsupported scheduler class, a spec that differs from the existing job's, an
unreachable server, a wrong rank, a metric where none is taken (or none
where one is needed)."""

from __future__ import annotations

import socket
import time

import grpc
import pytest
import torch
from torch.optim import lr_scheduler as S

import lrsched
import lrsched.torch


def optimizer_of(kind=torch.optim.SGD, **kwargs):
    parameters = [torch.nn.Parameter(torch.zeros(2))]
    return kind(parameters, lr=0.1, **kwargs)


@pytest.mark.parametrize("make", [
    lambda o: S.LambdaLR(o, lambda epoch: 0.9 ** epoch),
    lambda o: S.MultiplicativeLR(o, lambda epoch: 0.9),
])
def test_python_callables_are_refused(make, server):
    scheduler = make(optimizer_of())
    name = type(scheduler).__name__
    with pytest.raises(lrsched.torch.UnsupportedSchedulerError,
                       match=f"{name} computes the learning rate with a Python function "
                             r"\(lr_lambda\), which cannot run in the lrsched server"):
        lrsched.torch.RemoteScheduler(scheduler.optimizer, "callables", scheduler,
                                      server=server.target)
    # Also a TypeError, what a wrong argument type raises in PyTorch.
    with pytest.raises(TypeError):
        lrsched.torch.spec_from(scheduler)


def test_other_classes_are_refused():
    class Mine(S.StepLR):
        pass

    with pytest.raises(lrsched.torch.UnsupportedSchedulerError,
                       match=r"Mine is not one of the scheduler classes lrsched serves"):
        lrsched.torch.spec_from(Mine(optimizer_of(), step_size=3))
    cyclic = S.CyclicLR(optimizer_of(momentum=0.9), 0.01, 0.1, scale_fn=lambda x: 1.0)
    with pytest.raises(lrsched.torch.UnsupportedSchedulerError, match="CyclicLR with a scale_fn"):
        lrsched.torch.spec_from(cyclic)
    shared = optimizer_of()
    chained = S.ChainedScheduler([S.ExponentialLR(shared, 0.9),
                                  S.LambdaLR(shared, lambda e: 1.0)])
    with pytest.raises(lrsched.torch.UnsupportedSchedulerError, match="LambdaLR"):
        lrsched.torch.spec_from(chained)


def test_a_scheduler_that_has_stepped_is_refused():
    optimizer = optimizer_of()
    scheduler = S.StepLR(optimizer, 3)
    for _ in range(4):
        scheduler.step()
    with pytest.raises(ValueError, match="StepLR has already stepped 4 times"):
        lrsched.torch.spec_from(scheduler)
    plateau = S.ReduceLROnPlateau(optimizer)
    plateau.step(1.0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau has already stepped 1 times"):
        lrsched.torch.spec_from(plateau)
    sequential = S.SequentialLR(optimizer, [S.ExponentialLR(optimizer, 0.9),
                                            S.StepLR(optimizer, 2)], milestones=[3])
    sequential.step()
    with pytest.raises(ValueError, match="ExponentialLR has already stepped 1 times"):
        lrsched.torch.spec_from(sequential)


def test_a_spec_differing_from_the_existing_jobs(server):
    optimizer = optimizer_of()
    lrsched.torch.RemoteScheduler(optimizer, "differs", S.StepLR(optimizer, 3),
                                  server=server.target)
    other = optimizer_of()
    with pytest.raises(lrsched.AlreadyExistsError, match="already exists with a different spec") \
            as error:
        lrsched.torch.RemoteScheduler(other, "differs", S.StepLR(other, 4), server=server.target)
    assert error.value.code == grpc.StatusCode.ALREADY_EXISTS
    # The same spec again joins the job (what every rank does).
    again = optimizer_of()
    lrsched.torch.RemoteScheduler(again, "differs", S.StepLR(again, 3), server=server.target)


def test_an_unreachable_server():
    # A port that was free a moment ago: nothing listens there.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        target = f"127.0.0.1:{probe.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(lrsched.UnavailableError,
                       match=f"CreateJob: the lrsched server at {target} did not answer "
                             r"within 1 s") as error:
        lrsched.torch.RemoteScheduler(optimizer_of(), "nowhere", {"step_lr": {"step_size": 3}},
                                      server=target, give_up_after=1)
    assert time.monotonic() - started < 30
    assert isinstance(error.value, ConnectionError)
    assert error.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def test_a_wrong_rank(server):
    spec = {"reduce_lr_on_plateau": {}}
    with pytest.raises(lrsched.InvalidArgumentError,
                       match="rank: must be less than job ranks's world_size 2, got 2"):
        lrsched.torch.RemoteScheduler(optimizer_of(), "ranks", spec, server=server.target,
                                      rank=2, world_size=2)
    with pytest.raises(lrsched.InvalidArgumentError, match="rank"):
        lrsched.torch.RemoteScheduler(optimizer_of(), "ranks", spec, server=server.target,
                                      rank=-1, world_size=2)
    # A rank that believes in another world size.
    with pytest.raises(lrsched.AlreadyExistsError, match="world_size"):
        lrsched.torch.RemoteScheduler(optimizer_of(), "ranks", spec, server=server.target,
                                      rank=2, world_size=3)


def test_metrics_where_the_schedule_takes_none_or_needs_one(server):
    optimizer = optimizer_of()
    scheduler = lrsched.torch.RemoteScheduler(optimizer, "metric-free",
                                              {"step_lr": {"step_size": 3}},
                                              server=server.target)
    with pytest.raises(TypeError, match=r"takes no metric; call step\(\)"):
        scheduler.step(0.5)
    plateau = lrsched.torch.RemoteScheduler(optimizer_of(), "needs-metric",
                                            {"reduce_lr_on_plateau": {}}, server=server.target)
    with pytest.raises(TypeError, match=r"step 0 of job 'needs-metric' needs a metric"):
        plateau.step()


def test_a_cycled_momentum_needs_an_optimizer_with_one(server):
    with pytest.raises(ValueError, match="cycles momentum, but the optimizer Adagrad"):
        lrsched.torch.RemoteScheduler(
            optimizer_of(torch.optim.Adagrad), "no-momentum",
            {"one_cycle_lr": {"max_lr": [0.1], "total_steps": 100}}, server=server.target)


def test_adam_gets_beta1(server):
    optimizer = optimizer_of(torch.optim.Adam, betas=(0.9, 0.99))
    scheduler = lrsched.torch.RemoteScheduler(
        optimizer, "betas", {"one_cycle_lr": {"max_lr": [0.1], "total_steps": 100}},
        server=server.target)
    assert optimizer.param_groups[0]["betas"] == (0.95, 0.99)
    scheduler.step()
    assert optimizer.param_groups[0]["betas"][1] == 0.99
    assert optimizer.param_groups[0]["betas"][0] == scheduler.get_last_momentum()[0] < 0.95


def test_a_scheduler_constructed_to_resume_is_refused():
    # PyTorch's way to resume is last_epoch=k; the job would start at step 0.
    optimizer = optimizer_of()
    optimizer.param_groups[0]["initial_lr"] = 0.1
    with pytest.raises(ValueError, match=r"StepLR is at epoch 6 \(constructed with "
                                         r"last_epoch=5\).*load_state_dict"):
        lrsched.torch.spec_from(S.StepLR(optimizer, 3, last_epoch=5))
    with pytest.raises(ValueError, match=r"SequentialLR is at epoch 5"):
        lrsched.torch.spec_from(S.SequentialLR(
            optimizer, [S.ConstantLR(optimizer), S.StepLR(optimizer, 3)], [3], last_epoch=4))
    with pytest.raises(ValueError, match=r"StepLR is at epoch 8"):
        lrsched.torch.spec_from(S.SequentialLR(
            optimizer, [S.ConstantLR(optimizer), S.StepLR(optimizer, 3, last_epoch=7)], [3]))
    # Fresh ones, a plateau after a warm-up included, are taken.
    fresh = optimizer_of()
    lrsched.torch.spec_from(S.SequentialLR(fresh, [S.LinearLR(fresh, 0.1, total_iters=5),
                                                   S.ExponentialLR(fresh, 0.9),
                                                   S.ReduceLROnPlateau(fresh)], [5, 9]))


def test_nested_composites_are_refused():
    optimizer = optimizer_of()
    inner = S.SequentialLR(optimizer, [S.LinearLR(optimizer, 0.1, total_iters=10),
                                       S.ConstantLR(optimizer, 0.3, 10)], milestones=[10])
    outer = S.SequentialLR(optimizer, [inner, S.StepLR(optimizer, 3)], [40])
    with pytest.raises(lrsched.torch.UnsupportedSchedulerError,
                       match="a SequentialLR inside a SequentialLR"):
        lrsched.torch.spec_from(outer)


def test_one_cycle_with_a_frozen_group(server):
    # max_lr 0 for a group: spec_from must not divide by its rates.
    optimizer = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))]},
                                 {"params": [torch.nn.Parameter(torch.zeros(1))]}],
                                lr=0.1, momentum=0.9)
    scheduler = S.OneCycleLR(optimizer, max_lr=[0.0, 0.1], total_steps=50)
    spec = lrsched.torch.spec_from(scheduler)
    assert spec.one_cycle_lr.div_factor == 25.0 and spec.one_cycle_lr.final_div_factor == 1e4


def test_a_failed_load_state_dict_keeps_the_position(server):
    import numpy

    optimizer = optimizer_of()
    scheduler = lrsched.torch.RemoteScheduler(optimizer, "failed-load", S.StepLR(optimizer, 2, 0.5),
                                              server=server.target)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match=r"state_dict\['_last_lr'\]"):
        scheduler.load_state_dict({"job_id": "failed-load", "last_epoch": 1, "_last_lr": [0.3]})
    assert scheduler.last_epoch == 3
    scheduler.step()
    assert scheduler.last_epoch == 4 and scheduler.get_last_lr() == [0.025]
    with pytest.raises(ValueError, match=r"must be a step >= 0, got True"):
        scheduler.load_state_dict({"job_id": "failed-load", "last_epoch": True})
    # What torch.load or NumPy hand back.
    scheduler.load_state_dict({"job_id": "failed-load", "last_epoch": numpy.int64(2)})
    assert scheduler.last_epoch == 2
    scheduler.load_state_dict({"job_id": "failed-load", "last_epoch": torch.tensor(3)})
    assert scheduler.last_epoch == 3 and optimizer.param_groups[0]["lr"] == 0.05


def test_world_size_zero_and_a_step_that_waits_too_long(server):
    with pytest.raises(ValueError, match="world_size must be at least 1, got 0"):
        lrsched.torch.RemoteScheduler(optimizer_of(), "world-zero", {"step_lr": {"step_size": 3}},
                                      server=server.target, world_size=0)
    # Rank 1 never reports: the message says that a Step waits for the ranks.
    scheduler = lrsched.torch.RemoteScheduler(optimizer_of(), "waits", {"reduce_lr_on_plateau": {}},
                                              server=server.target, world_size=2,
                                              give_up_after=1, step_wait=0.3)
    with pytest.raises(lrsched.UnavailableError,
                       match="a Step also waits while its step is undecided, until every rank"):
        scheduler.step(0.5)
