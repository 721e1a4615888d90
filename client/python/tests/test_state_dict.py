"""RemoteScheduler.state_dict() taken mid-run and loaded into a new
RemoteScheduler (a new optimizer, as after a restart from a checkpoint)
continues at the same step with the same values as an uninterrupted local
PyTorch scheduler, even once step 0 has left the server's retained window."""

from __future__ import annotations

import json

import pytest
import torch
from torch.optim import lr_scheduler as S

import lrsched
import lrsched.torch
from conftest import ServerProcess


@pytest.fixture(scope="module")
def small_window_server(tmp_path_factory):
    # A retained window of 100 steps: resuming at step 700 must not need
    # step 0 any more. (With windows of 21 steps the first scheduler asks at
    # most 21 steps past 700, so 700 itself is still retained.)
    process = ServerProcess(str(tmp_path_factory.mktemp("window")),
                            "--history_window=100").start()
    yield process
    process.stop()


def optimizer_of(lr=0.1):
    parameters = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))]
    return torch.optim.SGD(parameters, lr=lr, momentum=0.9)


def values(optimizer):
    group = optimizer.param_groups[0]
    return group["lr"], group["momentum"]


def one_cycle(optimizer):
    return S.OneCycleLR(optimizer, max_lr=0.3, total_steps=1500, three_phase=True)


def test_resume_continues_one_cycle(small_window_server):
    local_optimizer = optimizer_of()
    local = one_cycle(local_optimizer)
    want = [values(local_optimizer)]
    for _ in range(1500):
        local.step()
        want.append(values(local_optimizer))

    first = optimizer_of()
    scheduler = lrsched.torch.RemoteScheduler(first, "resume-cycle", one_cycle(first),
                                              server=small_window_server.target, look_ahead=20)
    got = [values(first)]
    for _ in range(700):
        scheduler.step()
        got.append(values(first))
    saved = json.loads(json.dumps(scheduler.state_dict()))  # as a checkpoint keeps it
    scheduler.close()
    assert saved["last_epoch"] == 700

    second = optimizer_of()
    resumed = lrsched.torch.RemoteScheduler(second, "resume-cycle", one_cycle(second),
                                            server=small_window_server.target, look_ahead=20)
    # Step 0 has left the retained window: the position comes from the state.
    assert resumed.last_epoch == -1
    with pytest.raises(lrsched.OutOfRangeError, match="call load_state_dict"):
        resumed.step()
    resumed.load_state_dict(saved)
    assert resumed.last_epoch == 700 and values(second) == got[-1]
    for _ in range(800):
        resumed.step()
        got.append(values(second))
    assert got == want


def test_resume_continues_plateau(server):
    metrics = [1.0 / (1 + t) if t < 10 else 0.5 for t in range(60)]
    local_optimizer = optimizer_of()
    local = S.ReduceLROnPlateau(local_optimizer, patience=2, factor=0.5)
    want = [local_optimizer.param_groups[0]["lr"]]
    for t in range(60):
        local.step(metrics[t])
        want.append(local_optimizer.param_groups[0]["lr"])

    def plateau(optimizer):
        return S.ReduceLROnPlateau(optimizer, patience=2, factor=0.5)

    first = optimizer_of()
    scheduler = lrsched.torch.RemoteScheduler(first, "resume-plateau", plateau(first),
                                              server=server.target)
    got = [scheduler.get_last_lr()[0]]
    for t in range(25):
        scheduler.step(metrics[t])
        got.append(scheduler.get_last_lr()[0])
    saved = scheduler.state_dict()

    second = optimizer_of()
    resumed = lrsched.torch.RemoteScheduler(second, "resume-plateau", plateau(second),
                                            server=server.target)
    assert resumed.last_epoch == 0
    resumed.load_state_dict(saved)
    assert resumed.last_epoch == 25 and resumed.get_last_lr() == [got[-1]]
    for t in range(25, 60):
        resumed.step(metrics[t])
        got.append(second.param_groups[0]["lr"])
    assert got == want
    assert len(set(want)) >= 3, "the metrics should make the plateau reduce"


def test_a_state_of_another_job_is_refused(server):
    optimizer = optimizer_of()
    scheduler = lrsched.torch.RemoteScheduler(optimizer, "state-a",
                                              {"exponential_lr": {"gamma": 0.9}},
                                              server=server.target)
    with pytest.raises(ValueError, match=r"state_dict\['job_id'\] is 'state-b'"):
        scheduler.load_state_dict({"job_id": "state-b", "last_epoch": 3, "_last_lr": [0.1]})
    with pytest.raises(ValueError, match=r"state_dict\['_last_lr'\]"):
        scheduler.load_state_dict({"job_id": "state-a", "last_epoch": 3, "_last_lr": [0.5]})


def test_replaying_reported_steps_after_a_resume(server):
    """A run resumed from an earlier checkpoint replays steps whose metrics
    it reported before, recomputed with other last bits: the reports made
    then and the server's decisions stand, and the replay goes on."""
    metrics = [1.0 / (1 + t) if t < 5 else 0.5 for t in range(40)]

    def plateau(optimizer):
        return S.ReduceLROnPlateau(optimizer, patience=1, factor=0.5)

    first = optimizer_of()
    scheduler = lrsched.torch.RemoteScheduler(first, "replay", plateau(first),
                                              server=server.target)
    got = [values(first)]
    for t in range(20):
        scheduler.step(metrics[t])
        got.append(values(first))
        if t == 9:
            saved = json.loads(json.dumps(scheduler.state_dict()))
    scheduler.close()  # the process dies at step 20, its last checkpoint at 10

    second = optimizer_of()
    resumed = lrsched.torch.RemoteScheduler(second, "replay", plateau(second),
                                            server=server.target, look_ahead=4)
    resumed.load_state_dict(saved)
    replayed = [values(second)]
    with pytest.warns(RuntimeWarning, match="rank 0 reported step 10 before the run resumed"):
        for t in range(10, 30):
            resumed.step(metrics[t] + 1e-9)
            replayed.append(values(second))
    assert replayed[:11] == got[10:]
    assert len({lr for lr, _ in got}) >= 3

    # Without a resume, another metric for a reported step is an error (a
    # job id used again, or two processes with one rank).
    third = optimizer_of()
    again = lrsched.torch.RemoteScheduler(third, "replay", plateau(third), server=server.target)
    with pytest.raises(lrsched.AlreadyExistsError, match="rank 0 already reported"):
        again.step(0.25)
