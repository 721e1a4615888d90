"""RemoteScheduler against PyTorch, bit for bit, for every family and
composite in the project's traces.

For each traced case, a real PyTorch scheduler is constructed the way the
trace generator did (tests/data/gen_pytorch_traces.py), given to
RemoteScheduler (spec_from + the job on a real server), and stepped; the
learning rates and momentums it sets on its optimizer must equal those the
local PyTorch scheduler sets on its own optimizer, with ReduceLROnPlateau fed
the same metrics. The local run is also checked against the checked-in
trace, so both ends are tied to the same reference. Each family includes a
run of at least 1,000 steps.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import os
import struct

import pytest
import torch
from torch.optim import lr_scheduler as S

import lrsched
import lrsched.torch
from conftest import TRACES

FAMILIES = ["step_lr", "multi_step_lr", "exponential_lr", "cosine_annealing_lr", "cyclic_lr",
            "reduce_lr_on_plateau", "linear_lr", "constant_lr", "polynomial_lr", "one_cycle_lr",
            "cosine_annealing_warm_restarts", "sequential_lr", "chained_scheduler"]
# Enough for the long cases to pass 1,000 steps while keeping the run short.
MAX_STEPS = 1200


def unpack_values(text: str) -> list[float]:
    """The inverse of the generator's pack_values."""
    shuffled = base64.b64decode(text)
    count = len(shuffled) // 8
    raw = bytearray(len(shuffled))
    for k in range(8):
        raw[k::8] = shuffled[k * count:(k + 1) * count]
    words, previous = [], 0
    for delta in struct.unpack(f"<{count}Q", bytes(raw)):
        previous ^= delta
        words.append(previous)
    return list(struct.unpack(f"<{count}d", struct.pack(f"<{count}Q", *words)))


def bits(values) -> list[str]:
    """Exact comparison, NaN and signed zeros included, with readable output."""
    return [struct.pack("<d", v).hex() + f" ({v!r})" for v in values]


def cases(family):
    with gzip.open(os.path.join(TRACES, f"{family}.jsonl.gz")) as lines:
        for line in lines:
            yield json.loads(line)


def metrics_of(case):
    return [float(m) if not isinstance(m, str) else float(m.replace("Infinity", "inf"))
            for m in case["metrics"]]


def remote_run(gen, server, job_id, spec, base_lrs, steps, metrics):
    """The values RemoteScheduler sets on an optimizer, as the generator's
    Recorder reads them."""
    optimizer = gen.make_optimizer(base_lrs)
    local = gen.build(spec, optimizer)
    remote = lrsched.torch.RemoteScheduler(optimizer, job_id, local, server=server.target)
    record = gen.Recorder(optimizer, gen.cycles_momentum(spec))
    record()
    for t in range(steps):
        try:
            remote.step(metrics[t] if metrics else None)
        except lrsched.OutOfRangeError:
            # The server ends a schedule before a step whose values would
            # not be finite (PyTorch would train on with inf or NaN);
            # check() holds it to exactly that.
            break
        record()
    remote.close()
    return record.lrs, record.momentums


def check(gen, server, family, case, steps):
    metrics = metrics_of(case)[:steps]
    local = gen.run(case["spec"], case["base_lrs"], steps, metrics)
    assert "lrs" in local, f"{family}/{case['name']}: PyTorch failed: {local}"
    groups = len(case["base_lrs"])
    if "lrs" in case:
        traced = unpack_values(case["lrs"])[:(steps + 1) * groups]
        assert bits(local["lrs"]) == bits(traced), f"{family}/{case['name']}: local != trace"
    lrs, momentums = remote_run(gen, server, f"{family}.{case['name']}", case["spec"],
                                case["base_lrs"], steps, metrics)
    if len(lrs) < len(local["lrs"]):
        # Ended early: only where PyTorch's next step is not finite.
        ended = len(lrs) // groups
        following = local["lrs"][len(lrs):len(lrs) + groups] + \
            local["momentums"][len(momentums):len(momentums) + groups]
        assert not all(math.isfinite(v) for v in following), \
            f"{family}/{case['name']}: the server ended the schedule at step {ended - 1}, " \
            f"but PyTorch's step {ended} is finite: {following}"
        local = {"lrs": local["lrs"][:len(lrs)], "momentums": local["momentums"][:len(momentums)]}
        steps = ended - 1
    for name, got, want in (("lrs", lrs, local["lrs"]), ("momentums", momentums,
                                                         local["momentums"])):
        if bits(got) != bits(want):
            first = next(i for i, (a, b) in enumerate(zip(bits(got), bits(want))) if a != b) \
                if len(got) == len(want) else min(len(got), len(want))
            pytest.fail(f"{family}/{case['name']}: {name} differ from PyTorch's at value {first} "
                        f"(step {first // groups}): remote {got[first:first + 3]}, "
                        f"PyTorch {want[first:first + 3]}")
    return steps


@pytest.mark.parametrize("family", FAMILIES)
def test_remote_scheduler_matches_pytorch(family, server, traces_module):
    longest = 0
    for case in cases(family):
        longest = max(longest, check(traces_module, server, family, case,
                                     min(case["steps"], MAX_STEPS)))
    assert longest >= 1000, f"{family}: no case of at least 1,000 steps"


def test_warmup_then_plateau_over_a_thousand_steps(server, traces_module):
    """The composite the service adds (a warm-up, then ReduceLROnPlateau)
    is only traced over 80 steps: run it over 1,200 here, against the
    generator's PyTorch construction of it."""
    gen = traces_module
    spec = {"sequential_lr": {"schedulers": [
        {"linear_lr": {"start_factor": 0.1, "total_iters": 5}},
        {"reduce_lr_on_plateau": {"patience": 3, "factor": 0.7, "min_lr": [1e-6]}}],
        "milestones": [5]}}
    steps = MAX_STEPS
    metrics = [round(0.5 + 0.25 * math.sin(t * 0.37) ** 2, 4) for t in range(steps)]
    case = {"name": "warmup_then_plateau_long", "spec": spec, "base_lrs": [0.1, 0.2],
            "metrics": metrics}
    check(gen, server, "sequential_lr", case, steps)
    local = gen.run(spec, case["base_lrs"], steps, metrics)
    assert len(set(local["lrs"])) > 10, "the metrics should make the plateau reduce"


# ---------------------------------------------------------------- constructions
# The traces build every scheduler from a spec on SGD with momentum 0.9. These
# are constructed as a training script would write them: Adam (beta1 cycled),
# SGD without momentum, per-group lists, a group frozen with max_lr 0,
# factors below 0.5, tensor metrics, composites whose children are not
# metric-free leaves.

def _params(n):
    return [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(n)]


def _sgd(lrs, momentum=0.9):
    return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(_params(len(lrs)), lrs)],
                           lr=lrs[0], momentum=momentum)


def _adam(lrs):
    return torch.optim.Adam([{"params": [p], "lr": lr} for p, lr in zip(_params(len(lrs)), lrs)],
                            lr=lrs[0], betas=(0.9, 0.98))


_L3 = [0.1, 0.03, 0.7]
_N = 1000
_NOISY = [round(1.0 / (1 + 0.01 * t) + 0.04 * math.sin(1.3 * t), 6) for t in range(_N)]
_RISING = [round(0.01 * t + 0.5 * math.sin(0.9 * t), 6) for t in range(_N)]

CONSTRUCTIONS = {
    "one_cycle_adam_three_phase_linear": (lambda: _adam(_L3), lambda o: S.OneCycleLR(
        o, max_lr=[0.2, 0.0, 1.0], total_steps=_N, three_phase=True, anneal_strategy="linear",
        base_momentum=[0.8, 0.85, 0.7], max_momentum=0.95, div_factor=7.3,
        final_div_factor=333.0, pct_start=0.37), None),
    "one_cycle_small_factors": (lambda: _sgd(_L3, momentum=0.0), lambda o: S.OneCycleLR(
        o, max_lr=0.1, total_steps=_N, div_factor=0.3, final_div_factor=0.4), None),
    "cyclic_exp_range_sgd_without_momentum": (lambda: _sgd(_L3, momentum=0.0), lambda o: S.CyclicLR(
        o, base_lr=(0.001, 0.002, 0.003), max_lr=[0.1, 0.2, 0.05], step_size_up=100 / 3,
        step_size_down=200 / 7, mode="exp_range", gamma=0.9993,
        base_momentum=[0.7, 0.75, 0.8], max_momentum=0.99), None),
    "sequential_three_cyclic_middle": (lambda: _sgd(_L3), lambda o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=20),
            S.CyclicLR(o, 0.001, 0.05, step_size_up=25, mode="triangular2"),
            S.ExponentialLR(o, 0.998)], milestones=[20, 500]), None),
    "chained_one_cycle_second_adam": (lambda: _adam(_L3), lambda o: S.ChainedScheduler(
        [S.ExponentialLR(o, 0.999), S.OneCycleLR(o, [0.2, 0.1, 0.3], total_steps=_N)]), None),
    "warm_restarts_then_polynomial": (lambda: _adam(_L3), lambda o: S.SequentialLR(
        o, [S.CosineAnnealingWarmRestarts(o, 7, 3, 1e-4), S.PolynomialLR(o, 600, 2.7)],
        milestones=[150]), None),
    "plateau_max_abs_cooldown": (lambda: _sgd(_L3), lambda o: S.ReduceLROnPlateau(
        o, mode="max", threshold_mode="abs", threshold=0.05, cooldown=4, patience=3,
        factor=0.6, min_lr=[1e-3, 1e-4, 0.05], eps=1e-3),
        [torch.tensor(m, dtype=torch.float32) for m in _RISING]),
    "plateau_adam_min_lr_tuple": (lambda: _adam(_L3), lambda o: S.ReduceLROnPlateau(
        o, patience=0, factor=0.9, min_lr=(0.0, 1e-6, 0.1), eps=1e-4, threshold=0.01),
        _NOISY),
}


def _values(optimizer):
    out = []
    for group in optimizer.param_groups:
        out.append(group["lr"])
        out.append(group["betas"][0] if "betas" in group else group["momentum"])
    return bits(out)


@pytest.mark.parametrize("name", sorted(CONSTRUCTIONS))
def test_constructions_beyond_the_traces(name, server):
    make_optimizer, make_scheduler, metrics = CONSTRUCTIONS[name]
    local_optimizer = make_optimizer()
    local = make_scheduler(local_optimizer)
    want = [_values(local_optimizer)]
    for t in range(_N):
        local.step(*([metrics[t]] if metrics else []))
        want.append(_values(local_optimizer))
    optimizer = make_optimizer()
    remote = lrsched.torch.RemoteScheduler(optimizer, f"construction.{name}",
                                           make_scheduler(optimizer), server=server.target)
    got = [_values(optimizer)]
    for t in range(_N):
        remote.step(*([metrics[t]] if metrics else []))
        got.append(_values(optimizer))
        assert remote.get_last_lr() == [g["lr"] for g in optimizer.param_groups]
    remote.close()
    for step, (a, b) in enumerate(zip(got, want)):
        assert a == b, f"{name}: step {step}: remote {a}, PyTorch {b}"
    assert len({tuple(v) for v in want}) > 5
