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
