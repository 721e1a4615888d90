#!/usr/bin/python3
"""Writes reference traces of PyTorch's learning-rate schedulers.

Run by hand with Debian's python3-torch, from the repository root:

    /usr/bin/python3 tests/data/gen_pytorch_traces.py

It writes tests/data/traces/<family>.jsonl.gz (one case a line: the spec in
lrsched's proto3 JSON form, the base rates, the metrics, and every learning
rate and momentum PyTorch produced; for a schedule PyTorch ends by raising,
also the step() call that raised), invalid.jsonl.gz (configurations PyTorch
rejects, and where) and manifest.json (the PyTorch version and the counts the
tests check). The output is deterministic: the same PyTorch writes the same
bytes.

Values are stored exactly and compactly: the float64 values of a case, little
endian, each XORed with the one before it, then byte-shuffled (all first
bytes, then all second bytes, ...), then base64 (proto3 JSON's form of bytes).
Neighbouring learning rates share sign, exponent and leading mantissa bits, so
this roughly halves the compressed size of printed decimals.
"""

import base64
import gzip
import json
import math
import os
import random
import struct
import sys
import warnings

import torch
from torch.optim import lr_scheduler as S

warnings.filterwarnings("ignore")

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "traces")
LONG = 100_000

CLASSES = {
    "step_lr": S.StepLR,
    "multi_step_lr": S.MultiStepLR,
    "exponential_lr": S.ExponentialLR,
    "cosine_annealing_lr": S.CosineAnnealingLR,
    "cyclic_lr": S.CyclicLR,
    "reduce_lr_on_plateau": S.ReduceLROnPlateau,
    "linear_lr": S.LinearLR,
    "constant_lr": S.ConstantLR,
    "polynomial_lr": S.PolynomialLR,
    "one_cycle_lr": S.OneCycleLR,
    "cosine_annealing_warm_restarts": S.CosineAnnealingWarmRestarts,
}
TORCH_NAMES = {"t_max": "T_max", "t_0": "T_0", "t_mult": "T_mult"}
PER_GROUP = {"base_lr", "max_lr", "base_momentum", "max_momentum", "min_lr"}


# ---------------------------------------------------------------- running torch


def make_optimizer(base_lrs):
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in base_lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, base_lrs)]
    return torch.optim.SGD(groups, lr=base_lrs[0], momentum=0.9)


def torch_kwargs(args):
    kwargs = {}
    for key, value in args.items():
        if isinstance(value, str):
            value = value.lower()
        elif key in PER_GROUP:
            value = value[0] if len(value) == 1 else list(value)
        kwargs[TORCH_NAMES.get(key, key)] = value
    return kwargs


def build(spec, optimizer):
    (kind, args), = spec.items()
    if kind == "sequential_lr":
        children = [build(child, optimizer) for child in args["schedulers"]]
        return S.SequentialLR(optimizer, children, list(args.get("milestones", [])))
    if kind == "chained_scheduler":
        return S.ChainedScheduler([build(child, optimizer) for child in args["schedulers"]])
    return CLASSES[kind](optimizer, **torch_kwargs(args))


def cycles_momentum(spec):
    (kind, args), = spec.items()
    if kind in ("sequential_lr", "chained_scheduler"):
        return any(cycles_momentum(child) for child in args["schedulers"])
    return kind in ("cyclic_lr", "one_cycle_lr") and args.get("cycle_momentum", True)


def takes_metric(spec):
    return "reduce_lr_on_plateau" in spec


class Recorder:
    def __init__(self, optimizer, momentum):
        self.optimizer, self.momentum = optimizer, momentum
        self.lrs, self.momentums = [], []

    def __call__(self):
        for group in self.optimizer.param_groups:
            self.lrs.append(float(group["lr"]))
            if self.momentum:
                self.momentums.append(float(group["momentum"]))


def all_schedulers(scheduler):
    children = getattr(scheduler, "_schedulers", None)
    if children is None:
        return [scheduler]
    return [s for child in children for s in all_schedulers(child)]


def apply_override(optimizer, scheduler, override):
    """An operator override, done by hand as a PyTorch user would."""
    if override["mode"] == "SCALE_SCHEDULE":
        factor = override["factor"]
        for group in optimizer.param_groups:
            for key in ("lr", "initial_lr", "max_lr", "min_lr"):
                if key in group:
                    group[key] *= factor
        for s in all_schedulers(scheduler):
            if isinstance(s, S.ReduceLROnPlateau):
                s.min_lrs = [m * factor for m in s.min_lrs]
                continue
            s.base_lrs = [b * factor for b in s.base_lrs]
            if hasattr(s, "eta_min"):
                s.eta_min *= factor
            if isinstance(s, S.CyclicLR):
                s.max_lrs = [m * factor for m in s.max_lrs]
        return
    for g, group in enumerate(optimizer.param_groups):
        if "factor" in override:
            group["lr"] = override["factor"] * group["lr"]
        else:
            values = override["lrs"]["values"]
            group["lr"] = values[0] if len(values) == 1 else values[g]


def run(spec, base_lrs, steps, metrics, overrides=()):
    """PyTorch's values for steps 0..steps, or where and how it failed.

    overrides[i] applies after the step() call that produces its
    effective_step (after construction for step 0).
    """
    overrides = {o["effective_step"]: o for o in overrides}
    optimizer = make_optimizer(base_lrs)
    record = Recorder(optimizer, cycles_momentum(spec))
    plateau_after = None  # lrsched's SequentialLR that ends on ReduceLROnPlateau
    try:
        seq = spec.get("sequential_lr")
        if seq and "reduce_lr_on_plateau" in seq["schedulers"][-1]:
            # Defined by lrsched, done by hand with PyTorch's own schedulers:
            # the warm-up alone up to the last milestone m, then
            # ReduceLROnPlateau on the same optimizer from step m on.
            warmup_children = seq["schedulers"][:-1]
            plateau_after = seq["milestones"][-1]
            if len(warmup_children) == 1:
                scheduler = build(warmup_children[0], optimizer)
            else:
                scheduler = build({"sequential_lr": {"schedulers": warmup_children,
                                                     "milestones": seq["milestones"][:-1]}},
                                  optimizer)
            plateau_spec = seq["schedulers"][-1]
        else:
            scheduler = build(spec, optimizer)
    except (ValueError, TypeError, ZeroDivisionError, OverflowError, KeyError, AttributeError,
            IndexError) as error:
        return {"phase": "construct", "error": f"{type(error).__name__}: {error}"}
    if 0 in overrides:
        apply_override(optimizer, scheduler, overrides[0])
    record()
    for t in range(steps):
        try:
            if plateau_after is not None and t == plateau_after:
                scheduler = build(plateau_spec, optimizer)
            if plateau_after is not None and t >= plateau_after:
                scheduler.step(metrics[t])
            elif plateau_after is None and takes_metric(spec):
                scheduler.step(metrics[t])
            else:
                scheduler.step()
        except (ValueError, TypeError, ZeroDivisionError, OverflowError) as error:
            return {"phase": "step", "error_step": t + 1,
                    "error": f"{type(error).__name__}: {error}"}
        if t + 1 in overrides:
            apply_override(optimizer, scheduler, overrides[t + 1])
        record()
    return {"lrs": record.lrs, "momentums": record.momentums}


# ---------------------------------------------------------------- the cases


def case(name, spec, base_lrs=(0.1,), steps=60, metrics=None, ends_by_raising=False):
    """ends_by_raising: PyTorch raises at the step() call after the last of
    `steps`, and at every one after it; lrsched's schedule ends at `steps`."""
    c = {"name": name, "spec": spec, "base_lrs": list(base_lrs), "steps": steps,
         "metrics": list(metrics) if metrics is not None else []}
    if ends_by_raising:
        c["ends_by_raising"] = True
    return c


def metric_series(kind, n, rng=None):
    rng = rng or random.Random(n)
    if kind == "improving":
        return [1.0 / (1 + t) for t in range(n)]
    if kind == "flat":
        return [0.5] * n
    if kind == "stall":
        return [max(0.2, 1.0 - 0.05 * t) for t in range(n)]
    if kind == "oscillating":
        return [0.5 + 0.1 * math.sin(t) for t in range(n)]
    if kind == "noisy":
        return [round(1.0 / (1 + 0.05 * t) + rng.uniform(-0.05, 0.05), 6) for t in range(n)]
    if kind == "negative":
        return [-1.0 + 0.01 * (t % 7) for t in range(n)]
    if kind == "nan":
        return [float("nan") if t % 5 == 3 else 1.0 / (1 + t) for t in range(n)]
    if kind == "all_nan":
        return [float("nan")] * n
    if kind == "inf":
        return [float("inf") if t == 2 else (float("-inf") if t == 30 else 1.0 - 0.01 * t)
                for t in range(n)]
    if kind == "ties":
        return [1.0, 1.0, 0.9, 0.9, 0.9, 0.8] * (n // 6) + [0.8] * (n % 6)
    if kind == "rising":
        return [0.1 * t for t in range(n)]
    raise ValueError(kind)


def step_lr_cases(rng):
    cases = [
        case("default_gamma", {"step_lr": {"step_size": 3}}),
        case("step_size_1", {"step_lr": {"step_size": 1, "gamma": 0.5}}, steps=1100),
        case("gamma_0_9", {"step_lr": {"step_size": 7, "gamma": 0.9}}),
        case("gamma_1", {"step_lr": {"step_size": 2, "gamma": 1.0}}),
        case("gamma_0", {"step_lr": {"step_size": 4, "gamma": 0.0}}),
        case("gamma_above_1", {"step_lr": {"step_size": 5, "gamma": 1.5}}),
        case("step_size_beyond_run", {"step_lr": {"step_size": 1000, "gamma": 0.1}}),
        case("three_groups", {"step_lr": {"step_size": 4, "gamma": 0.3}}, [0.1, 0.05, 1.0]),
        case("base_zero", {"step_lr": {"step_size": 2, "gamma": 0.5}}, [0.0]),
        case("tiny_base_to_subnormal", {"step_lr": {"step_size": 1, "gamma": 0.5}}, [1e-300],
             steps=1100),
        case("long", {"step_lr": {"step_size": 30, "gamma": 0.999}}, [0.3], steps=LONG),
    ]
    for i in range(24):
        cases.append(case(f"random_{i}", {"step_lr": {"step_size": rng.randint(1, 20),
                                                      "gamma": round(rng.uniform(0.01, 1.2), 4)}},
                          [round(rng.uniform(1e-4, 1), 5) for _ in range(rng.randint(1, 3))],
                          steps=rng.randint(1, 300)))
    return cases


def multi_step_lr_cases(rng):
    cases = [
        case("default_gamma", {"multi_step_lr": {"milestones": [10, 20, 40]}}),
        case("empty", {"multi_step_lr": {"milestones": []}}),
        case("milestone_zero", {"multi_step_lr": {"milestones": [0, 5], "gamma": 0.5}}),
        case("duplicates", {"multi_step_lr": {"milestones": [3, 3, 6, 6, 6], "gamma": 0.1}},
             [0.3]),
        case("unsorted", {"multi_step_lr": {"milestones": [30, 10, 20], "gamma": 0.1}}),
        case("beyond_run", {"multi_step_lr": {"milestones": [5, 1000], "gamma": 0.1}}),
        case("gamma_above_1", {"multi_step_lr": {"milestones": [2, 4, 8], "gamma": 3.0}}),
        case("gamma_0", {"multi_step_lr": {"milestones": [3], "gamma": 0.0}}),
        case("two_groups", {"multi_step_lr": {"milestones": [5, 9], "gamma": 0.7}}, [0.1, 0.02]),
        case("every_step", {"multi_step_lr": {"milestones": list(range(1, 60)), "gamma": 0.9}}),
        case("long", {"multi_step_lr": {"milestones": list(range(1000, LONG, 1000)),
                                        "gamma": 0.97}}, [0.5], steps=LONG),
    ]
    for i in range(24):
        milestones = [rng.randint(0, 150) for _ in range(rng.randint(0, 8))]
        cases.append(case(f"random_{i}", {"multi_step_lr": {
            "milestones": milestones, "gamma": round(rng.uniform(0.01, 1.0), 4)}},
            [round(rng.uniform(1e-4, 1), 5) for _ in range(rng.randint(1, 3))],
            steps=rng.randint(1, 200)))
    return cases


def exponential_lr_cases(rng):
    cases = [
        case("gamma_0_9", {"exponential_lr": {"gamma": 0.9}}),
        case("gamma_1", {"exponential_lr": {"gamma": 1.0}}),
        case("gamma_0", {"exponential_lr": {"gamma": 0.0}}),
        case("gamma_above_1_to_inf", {"exponential_lr": {"gamma": 2.0}}, steps=1100),
        case("to_subnormal_and_zero", {"exponential_lr": {"gamma": 0.5}}, steps=1200),
        case("three_groups", {"exponential_lr": {"gamma": 0.95}}, [1.0, 0.1, 0.003]),
        case("base_zero", {"exponential_lr": {"gamma": 0.9}}, [0.0]),
        case("long", {"exponential_lr": {"gamma": 0.99995}}, [0.1], steps=LONG),
    ]
    for i in range(25):
        cases.append(case(f"random_{i}", {"exponential_lr": {
            "gamma": round(rng.uniform(0.8, 1.01), 6)}},
            [round(rng.uniform(1e-4, 1), 5) for _ in range(rng.randint(1, 3))],
            steps=rng.randint(1, 2000)))
    return cases


def cosine_annealing_lr_cases(rng):
    cases = [
        case("t_max_10", {"cosine_annealing_lr": {"t_max": 10}}),
        case("t_max_1", {"cosine_annealing_lr": {"t_max": 1}}),
        case("t_max_2", {"cosine_annealing_lr": {"t_max": 2, "eta_min": 0.01}}),
        case("eta_min", {"cosine_annealing_lr": {"t_max": 25, "eta_min": 0.001}}, steps=200),
        case("eta_min_above_base", {"cosine_annealing_lr": {"t_max": 20, "eta_min": 0.5}},
             steps=120),
        case("eta_min_equals_base", {"cosine_annealing_lr": {"t_max": 7, "eta_min": 0.1}}),
        case("negative_eta_min", {"cosine_annealing_lr": {"t_max": 9, "eta_min": -0.01}}),
        case("past_t_max_many_periods", {"cosine_annealing_lr": {"t_max": 13}}, steps=2000),
        case("three_groups", {"cosine_annealing_lr": {"t_max": 30, "eta_min": 1e-5}},
             [0.1, 1.0, 0.0]),
        case("base_zero", {"cosine_annealing_lr": {"t_max": 5}}, [0.0]),
        case("long", {"cosine_annealing_lr": {"t_max": 3000, "eta_min": 1e-6}}, [0.1],
             steps=LONG),
    ]
    for i in range(24):
        cases.append(case(f"random_{i}", {"cosine_annealing_lr": {
            "t_max": rng.randint(1, 500), "eta_min": round(rng.uniform(0, 0.01), 6)}},
            [round(rng.uniform(1e-3, 1), 5) for _ in range(rng.randint(1, 3))],
            steps=rng.randint(1, 1500)))
    return cases


def cyclic_lr_cases(rng):
    c = lambda **kw: {"cyclic_lr": kw}
    cases = [
        case("defaults", c(base_lr=[0.001], max_lr=[0.006]), steps=5000),
        case("triangular", c(base_lr=[0.01], max_lr=[0.1], step_size_up=10), steps=200),
        case("asymmetric", c(base_lr=[0.01], max_lr=[0.1], step_size_up=3, step_size_down=7)),
        case("triangular2", c(base_lr=[0.01], max_lr=[0.1], step_size_up=5,
                               mode="TRIANGULAR2"), steps=300),
        case("exp_range", c(base_lr=[0.01], max_lr=[0.1], step_size_up=5, mode="EXP_RANGE",
                             gamma=0.99), steps=300),
        case("exp_range_gamma_above_1", c(base_lr=[0.01], max_lr=[0.1], step_size_up=4,
                                          mode="EXP_RANGE", gamma=1.01), steps=300),
        case("scale_mode_iterations_ignored", c(base_lr=[0.01], max_lr=[0.1], step_size_up=5,
                                                mode="TRIANGULAR2", scale_mode="ITERATIONS"),
             steps=100),
        case("scale_mode_cycle_ignored", c(base_lr=[0.01], max_lr=[0.1], step_size_up=5,
                                           mode="EXP_RANGE", gamma=0.95, scale_mode="CYCLE"),
             steps=100),
        case("step_size_down_zero_sawtooth", c(base_lr=[0.01], max_lr=[0.1], step_size_up=4,
                                               step_size_down=0)),
        case("fractional_step_sizes", c(base_lr=[0.01], max_lr=[0.1], step_size_up=2.5,
                                        step_size_down=3.25), steps=100),
        case("max_below_base", c(base_lr=[0.1], max_lr=[0.01], step_size_up=6)),
        case("no_momentum", c(base_lr=[0.01], max_lr=[0.1], step_size_up=5,
                               cycle_momentum=False)),
        case("momentum_bounds", c(base_lr=[0.01], max_lr=[0.1], step_size_up=5,
                                   base_momentum=[0.85], max_momentum=[0.95])),
        case("per_group", c(base_lr=[0.01, 0.001, 0.1], max_lr=[0.1, 0.01, 0.2],
                             step_size_up=6, base_momentum=[0.8, 0.85, 0.9],
                             max_momentum=[0.9, 0.95, 0.99]), [0.5, 0.5, 0.5]),
        case("one_value_for_three_groups", c(base_lr=[0.01], max_lr=[0.1], step_size_up=6),
             [0.5, 0.05, 0.005]),
        case("step_size_1", c(base_lr=[0.01], max_lr=[0.1], step_size_up=1)),
        case("triangular2_to_overflow", c(base_lr=[0.01], max_lr=[0.1], step_size_up=1,
                                          step_size_down=1, mode="TRIANGULAR2"), steps=2046),
        case("long", c(base_lr=[0.0001], max_lr=[0.01], step_size_up=1700, step_size_down=2300,
                        mode="EXP_RANGE", gamma=0.99999), steps=LONG),
    ]
    modes = ["TRIANGULAR", "TRIANGULAR2", "EXP_RANGE"]
    for i in range(16):
        groups = rng.randint(1, 3)
        base = [round(rng.uniform(1e-4, 0.01), 6) for _ in range(groups)]
        cases.append(case(f"random_{i}", c(
            base_lr=base, max_lr=[round(b * rng.uniform(1, 20), 6) for b in base],
            step_size_up=rng.choice([rng.randint(1, 50), round(rng.uniform(0.5, 50), 3)]),
            step_size_down=rng.randint(0, 50), mode=rng.choice(modes),
            gamma=round(rng.uniform(0.99, 1.0), 5)),
            [0.1] * groups, steps=rng.randint(1, 800)))
    return cases


def reduce_lr_on_plateau_cases(rng):
    p = lambda **kw: {"reduce_lr_on_plateau": kw}
    n = 80
    cases = [
        case("defaults_flat", p(), steps=n, metrics=metric_series("flat", n)),
        case("defaults_improving", p(), steps=n, metrics=metric_series("improving", n)),
        case("stall", p(patience=2), steps=n, metrics=metric_series("stall", n)),
        case("oscillating", p(patience=1), steps=n, metrics=metric_series("oscillating", n)),
        case("nan", p(patience=1), steps=n, metrics=metric_series("nan", n)),
        case("all_nan", p(patience=0), steps=n, metrics=metric_series("all_nan", n)),
        case("infinities", p(patience=1), steps=n, metrics=metric_series("inf", n)),
        case("ties_are_not_improvements", p(patience=1, threshold=0.0), steps=n,
             metrics=metric_series("ties", n)),
        case("negative_metrics_rel", p(patience=1), steps=n,
             metrics=metric_series("negative", n)),
        case("negative_metrics_abs", p(patience=1, threshold_mode="ABS"), steps=n,
             metrics=metric_series("negative", n)),
        case("max_mode_rel", p(mode="MAX", patience=2), steps=n,
             metrics=metric_series("oscillating", n)),
        case("max_mode_abs", p(mode="MAX", patience=2, threshold_mode="ABS", threshold=0.05),
             steps=n, metrics=metric_series("rising", n)),
        case("cooldown", p(patience=1, cooldown=3), steps=n, metrics=metric_series("flat", n)),
        case("cooldown_best_keeps_updating", p(patience=0, cooldown=5), steps=n,
             metrics=metric_series("noisy", n)),
        case("min_lr", p(patience=0, factor=0.5, min_lr=[0.01]), steps=n,
             metrics=metric_series("flat", n)),
        case("min_lr_above_lr", p(patience=0, min_lr=[0.5]), steps=20,
             metrics=metric_series("flat", 20)),
        case("min_lr_per_group", p(patience=0, factor=0.5, min_lr=[0.01, 0.001, 0.0]),
             [0.1, 0.1, 0.1], steps=n, metrics=metric_series("flat", n)),
        case("eps_stops_reduction", p(patience=0, factor=0.5), [1e-7], steps=n,
             metrics=metric_series("flat", n)),
        case("large_eps", p(patience=0, factor=0.5, eps=0.01), [0.1], steps=n,
             metrics=metric_series("flat", n)),
        case("factor_zero", p(patience=1, factor=0.0, min_lr=[0.001]), steps=n,
             metrics=metric_series("flat", n)),
        case("threshold_one_rel_never_improves", p(patience=1, threshold=1.0), steps=n,
             metrics=metric_series("improving", n)),
        case("patience_zero", p(patience=0), steps=n, metrics=metric_series("noisy", n)),
        case("three_groups", p(patience=2, factor=0.3), [0.1, 0.01, 1.0], steps=n,
             metrics=metric_series("noisy", n)),
        case("long_hits_min_lr", p(patience=3, factor=0.9, min_lr=[1e-5], cooldown=2), [0.1],
             steps=LONG, metrics=[round(0.5 + 0.25 * math.sin(t * 0.37) ** 2, 4)
                                  for t in range(LONG)]),
    ]
    kinds = ["flat", "improving", "stall", "oscillating", "noisy", "negative", "nan", "ties"]
    for i in range(14):
        steps = rng.randint(1, 300)
        cases.append(case(f"random_{i}", p(
            mode=rng.choice(["MIN", "MAX"]), factor=round(rng.uniform(0, 0.9), 3),
            patience=rng.randint(0, 6), threshold=round(rng.uniform(0, 0.1), 4),
            threshold_mode=rng.choice(["REL", "ABS"]), cooldown=rng.randint(0, 4),
            min_lr=[round(rng.uniform(0, 1e-3), 6)], eps=rng.choice([1e-8, 0.0, 1e-4])),
            [round(rng.uniform(1e-3, 1), 5)], steps=steps,
            metrics=metric_series(rng.choice(kinds), steps, rng)))
    return cases


def linear_lr_cases(rng):
    l = lambda **kw: {"linear_lr": kw}
    cases = [
        case("defaults", l()),
        case("warmup", l(start_factor=0.01, total_iters=20)),
        case("decay", l(start_factor=1.0, end_factor=0.1, total_iters=30)),
        case("total_iters_0", l(total_iters=0)),
        case("total_iters_1", l(start_factor=0.5, total_iters=1)),
        case("start_equals_end", l(start_factor=0.5, end_factor=0.5, total_iters=10)),
        case("end_factor_0", l(start_factor=1.0, end_factor=0.0, total_iters=10)),
        case("start_factor_1", l(start_factor=1.0, total_iters=10)),
        case("three_groups", l(start_factor=0.1, total_iters=8), [0.1, 0.2, 0.3]),
        case("long", l(start_factor=0.001, end_factor=1.0, total_iters=LONG), [0.1], steps=LONG),
    ]
    for i in range(25):
        cases.append(case(f"random_{i}", l(
            start_factor=round(rng.uniform(0.001, 1), 4), end_factor=round(rng.uniform(0, 1), 4),
            total_iters=rng.randint(0, 200)),
            [round(rng.uniform(1e-3, 1), 5) for _ in range(rng.randint(1, 3))],
            steps=rng.randint(1, 300)))
    return cases


def constant_lr_cases(rng):
    k = lambda **kw: {"constant_lr": kw}
    cases = [
        case("defaults", k()),
        case("factor_0_1", k(factor=0.1, total_iters=10)),
        case("factor_1", k(factor=1.0, total_iters=4)),
        case("total_iters_0_never_restored", k(factor=0.5, total_iters=0)),
        case("factor_0_total_iters_0", k(factor=0.0, total_iters=0)),
        case("total_iters_1", k(factor=0.25, total_iters=1)),
        case("three_groups", k(factor=0.3, total_iters=5), [0.1, 0.7, 0.003]),
        case("long", k(factor=0.1, total_iters=50_000), [0.1], steps=LONG),
    ]
    for i in range(27):
        cases.append(case(f"random_{i}", k(
            factor=round(rng.uniform(0.001, 1), 5), total_iters=rng.randint(0, 100)),
            [round(rng.uniform(1e-3, 1), 5) for _ in range(rng.randint(1, 3))],
            steps=rng.randint(1, 200)))
    return cases


def polynomial_lr_cases(rng):
    q = lambda **kw: {"polynomial_lr": kw}
    cases = [
        case("defaults", q()),
        case("linear", q(total_iters=20, power=1.0)),
        case("square", q(total_iters=20, power=2.0)),
        case("sqrt", q(total_iters=20, power=0.5)),
        case("power_0", q(total_iters=10, power=0.0)),
        case("total_iters_0", q(total_iters=0)),
        case("total_iters_1", q(total_iters=1, power=3.0)),
        case("three_groups", q(total_iters=15, power=1.5), [0.1, 0.2, 0.3]),
        case("long", q(total_iters=LONG, power=0.9), [0.1], steps=LONG),
    ]
    for i in range(26):
        cases.append(case(f"random_{i}", q(
            total_iters=rng.randint(0, 300), power=round(rng.uniform(0, 4), 4)),
            [round(rng.uniform(1e-3, 1), 5) for _ in range(rng.randint(1, 3))],
            steps=rng.randint(1, 400)))
    return cases


def one_cycle_lr_cases(rng):
    o = lambda **kw: {"one_cycle_lr": kw}
    cases = [
        case("defaults", o(max_lr=[0.1], total_steps=100), steps=100),
        case("epochs_steps_per_epoch", o(max_lr=[0.1], epochs=5, steps_per_epoch=20), steps=100),
        case("linear", o(max_lr=[0.1], total_steps=50, anneal_strategy="LINEAR"), steps=50),
        case("three_phase", o(max_lr=[0.1], total_steps=90, three_phase=True), steps=90),
        case("three_phase_linear", o(max_lr=[0.1], total_steps=60, three_phase=True,
                                     anneal_strategy="LINEAR"), steps=60),
        case("pct_start_0", o(max_lr=[0.1], total_steps=40, pct_start=0.0), steps=40),
        case("pct_start_0_5", o(max_lr=[0.1], total_steps=40, pct_start=0.5), steps=40),
        case("no_momentum", o(max_lr=[0.1], total_steps=30, cycle_momentum=False), steps=30),
        case("momentum_bounds", o(max_lr=[0.1], total_steps=30, base_momentum=[0.8],
                                  max_momentum=[0.9]), steps=30),
        case("div_factors", o(max_lr=[1.0], total_steps=30, div_factor=10.0,
                              final_div_factor=100.0), steps=30),
        case("per_group", o(max_lr=[0.1, 0.01, 1.0], total_steps=30,
                            base_momentum=[0.8, 0.85, 0.7], max_momentum=[0.9, 0.95, 0.99]),
             [0.5, 0.5, 0.5], steps=30),
        case("total_steps_1", o(max_lr=[0.1], total_steps=1, pct_start=0.5), steps=1),
        case("total_steps_2", o(max_lr=[0.1], total_steps=2, pct_start=0.25), steps=2),
        case("long", o(max_lr=[0.05], total_steps=LONG, pct_start=0.25), steps=LONG),
    ]
    # pct_start=1 (a warm-up for the whole run) gives the last phase zero
    # length: PyTorch computes steps 0..total_steps-1, then divides by zero at
    # total_steps. With three phases pct_start=1 runs to total_steps; the last
    # phase has zero length when 2*pct_start*total_steps - 2 == total_steps - 1.
    ends = lambda name, **kw: case(name, o(**kw), [0.1] * len(kw["max_lr"]),
                                   steps=kw["total_steps"] - 1, ends_by_raising=True)
    cases += [
        ends("pct_start_1", max_lr=[0.1], total_steps=40, pct_start=1.0),
        ends("pct_start_1_total_steps_2", max_lr=[0.1], total_steps=2, pct_start=1.0),
        ends("pct_start_1_total_steps_3", max_lr=[0.1], total_steps=3, pct_start=1.0),
        ends("pct_start_1_total_steps_4_linear", max_lr=[0.1], total_steps=4, pct_start=1.0,
             anneal_strategy="LINEAR"),
        ends("pct_start_1_no_momentum", max_lr=[0.1], total_steps=30, pct_start=1.0,
             cycle_momentum=False),
        ends("pct_start_1_linear_no_momentum", max_lr=[0.1], total_steps=50, pct_start=1.0,
             anneal_strategy="LINEAR", cycle_momentum=False),
        ends("pct_start_1_per_group", max_lr=[0.1, 0.01, 1.0], total_steps=25, pct_start=1.0,
             base_momentum=[0.8, 0.85, 0.7], max_momentum=[0.9, 0.95, 0.99]),
        ends("pct_start_1_long", max_lr=[0.05], total_steps=10_000, pct_start=1.0),
        case("three_phase_pct_start_1", o(max_lr=[0.1], total_steps=40, pct_start=1.0,
                                          three_phase=True), steps=40),
        case("three_phase_pct_start_1_total_steps_2", o(max_lr=[0.1], total_steps=2,
                                                        pct_start=1.0, three_phase=True),
             steps=2),
        case("three_phase_pct_start_1_total_steps_3_linear", o(
            max_lr=[0.1], total_steps=3, pct_start=1.0, three_phase=True,
            anneal_strategy="LINEAR", cycle_momentum=False), steps=3),
        ends("three_phase_last_phase_zero", max_lr=[0.1], total_steps=9, pct_start=10 / 18,
             three_phase=True),
        ends("three_phase_last_phase_zero_total_steps_2", max_lr=[0.1], total_steps=2,
             pct_start=0.75, three_phase=True),
        ends("three_phase_last_phase_zero_total_steps_3", max_lr=[0.1], total_steps=3,
             pct_start=2 / 3, three_phase=True, cycle_momentum=False),
        ends("three_phase_last_phase_zero_linear", max_lr=[0.1], total_steps=101,
             pct_start=51 / 101, three_phase=True, anneal_strategy="LINEAR"),
    ]
    for i in range(20):
        total = rng.randint(2, 500)
        pct = round(rng.uniform(0.05, 0.95), 3)
        # PyTorch raises on these at step 0, or at total_steps with three phases.
        if pct * total == 1.0 or (2 * pct * total - 2) == total - 1:
            pct = 0.3
        groups = rng.randint(1, 3)
        cases.append(case(f"random_{i}", o(
            max_lr=[round(rng.uniform(1e-3, 1), 5) for _ in range(groups)], total_steps=total,
            pct_start=pct, anneal_strategy=rng.choice(["COS", "LINEAR"]),
            three_phase=rng.choice([False, True]), div_factor=round(rng.uniform(2, 50), 3),
            final_div_factor=round(rng.uniform(10, 1e5), 1)),
            [0.1] * groups, steps=total))
    return cases


def warm_restarts_cases(rng):
    w = lambda **kw: {"cosine_annealing_warm_restarts": kw}
    cases = [
        case("t_0_10", w(t_0=10)),
        case("t_0_1", w(t_0=1)),
        case("t_mult_2", w(t_0=3, t_mult=2), steps=200),
        case("t_mult_3_eta_min", w(t_0=2, t_mult=3, eta_min=0.001), steps=300),
        case("eta_min_above_base", w(t_0=7, eta_min=0.5)),
        case("negative_eta_min", w(t_0=5, eta_min=-0.01)),
        case("three_groups", w(t_0=6, t_mult=2, eta_min=1e-4), [0.1, 1.0, 0.0], steps=100),
        case("long", w(t_0=500, t_mult=2, eta_min=1e-6), [0.1], steps=LONG),
    ]
    for i in range(27):
        cases.append(case(f"random_{i}", w(
            t_0=rng.randint(1, 60), t_mult=rng.randint(1, 3),
            eta_min=round(rng.uniform(0, 0.01), 6)),
            [round(rng.uniform(1e-3, 1), 5) for _ in range(rng.randint(1, 3))],
            steps=rng.randint(1, 600)))
    return cases


def random_child(rng, restartable=True):
    choice = rng.choice(["step_lr", "multi_step_lr", "exponential_lr", "cosine_annealing_lr",
                         "linear_lr", "constant_lr", "polynomial_lr",
                         "cosine_annealing_warm_restarts", "cyclic_lr"])
    if choice == "step_lr":
        return {"step_lr": {"step_size": rng.randint(1, 10), "gamma": round(rng.uniform(0.1, 1), 3)}}
    if choice == "multi_step_lr":
        return {"multi_step_lr": {"milestones": sorted(rng.sample(range(0, 40), 3)),
                                  "gamma": round(rng.uniform(0.1, 1), 3)}}
    if choice == "exponential_lr":
        return {"exponential_lr": {"gamma": round(rng.uniform(0.9, 1), 4)}}
    if choice == "cosine_annealing_lr":
        return {"cosine_annealing_lr": {"t_max": rng.randint(1, 40),
                                        "eta_min": round(rng.uniform(0, 1e-3), 6)}}
    if choice == "linear_lr":
        return {"linear_lr": {"start_factor": round(rng.uniform(0.01, 1), 3),
                              "end_factor": round(rng.uniform(0.1, 1), 3),
                              "total_iters": rng.randint(1, 20)}}
    if choice == "constant_lr":
        return {"constant_lr": {"factor": round(rng.uniform(0.05, 1), 3),
                                "total_iters": rng.randint(0, 20)}}
    if choice == "polynomial_lr":
        return {"polynomial_lr": {"total_iters": rng.randint(1, 30),
                                  "power": round(rng.uniform(0.5, 3), 3)}}
    if choice == "cosine_annealing_warm_restarts":
        return {"cosine_annealing_warm_restarts": {"t_0": rng.randint(1, 20),
                                                   "t_mult": rng.randint(1, 2)}}
    return {"cyclic_lr": {"base_lr": [0.001], "max_lr": [0.01], "step_size_up": rng.randint(1, 10)}}


def sequential_lr_cases(rng):
    sq = lambda children, milestones: {"sequential_lr": {"schedulers": children,
                                                         "milestones": milestones}}
    warmup = {"linear_lr": {"start_factor": 0.1, "total_iters": 5}}
    plateau = {"reduce_lr_on_plateau": {"patience": 2, "factor": 0.5}}
    n = 80
    cases = [
        case("warmup_then_cosine", sq([warmup, {"cosine_annealing_lr": {"t_max": 50}}], [5])),
        case("warmup_cut_short", sq([{"linear_lr": {"start_factor": 0.1, "total_iters": 10}},
                                     {"exponential_lr": {"gamma": 0.9}}], [4])),
        case("constant_then_exponential", sq([{"constant_lr": {"factor": 0.1, "total_iters": 2}},
                                              {"exponential_lr": {"gamma": 0.9}}], [2])),
        case("single_scheduler", sq([{"step_lr": {"step_size": 3}}], [])),
        case("three_phases", sq([warmup, {"constant_lr": {"factor": 0.5, "total_iters": 100}},
                                 {"cosine_annealing_lr": {"t_max": 20, "eta_min": 0.001}}],
                                [5, 15]), steps=100),
        case("restart_multistep_milestone_0",
             sq([warmup, {"multi_step_lr": {"milestones": [0, 3], "gamma": 0.5}}], [5])),
        case("restart_step_lr", sq([warmup, {"step_lr": {"step_size": 4, "gamma": 0.5}}], [6])),
        case("restart_polynomial", sq([warmup, {"polynomial_lr": {"total_iters": 10}}], [5])),
        case("restart_linear", sq([{"exponential_lr": {"gamma": 0.9}}, warmup], [7])),
        case("restart_warm_restarts", sq([warmup, {"cosine_annealing_warm_restarts":
                                                   {"t_0": 4, "t_mult": 2}}], [5])),
        case("cyclic_first", sq([{"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1],
                                                "step_size_up": 3}},
                                 {"exponential_lr": {"gamma": 0.9}}], [20])),
        case("cyclic_second", sq([warmup, {"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1],
                                                         "step_size_up": 3}}], [5])),
        case("one_cycle_second", sq([warmup, {"one_cycle_lr": {"max_lr": [0.1],
                                                               "total_steps": 100}}], [5])),
        case("three_groups", sq([warmup, {"cosine_annealing_lr": {"t_max": 30}}], [5]),
             [0.1, 0.01, 1.0]),
        case("long_warmup_cosine", sq([{"linear_lr": {"start_factor": 0.01,
                                                      "total_iters": 2000}},
                                       {"cosine_annealing_lr": {"t_max": 98000,
                                                                "eta_min": 1e-6}}], [2000]),
             [0.1], steps=LONG),
        # lrsched's extension: a warm-up, then ReduceLROnPlateau.
        case("warmup_then_plateau", sq([warmup, plateau], [5]), steps=n,
             metrics=metric_series("stall", n)),
        case("warmup_then_plateau_noisy", sq([warmup, plateau], [5]), steps=n,
             metrics=metric_series("noisy", n)),
        case("two_warmups_then_plateau",
             sq([warmup, {"constant_lr": {"factor": 0.5, "total_iters": 3}}, plateau], [5, 10]),
             steps=n, metrics=metric_series("flat", n)),
        case("cosine_then_plateau", sq([{"cosine_annealing_lr": {"t_max": 10}}, plateau], [8]),
             steps=n, metrics=metric_series("nan", n)),
        case("warmup_then_plateau_groups",
             sq([warmup, {"reduce_lr_on_plateau": {"patience": 1, "min_lr": [0.02, 0.0]}}], [5]),
             [0.1, 0.2], steps=n, metrics=metric_series("flat", n)),
    ]
    for i in range(14):
        count = rng.randint(2, 4)
        children = [random_child(rng) for _ in range(count)]
        milestones = sorted(rng.sample(range(1, 60), count - 1))
        cases.append(case(f"random_{i}", sq(children, milestones),
                          [round(rng.uniform(1e-3, 1), 5) for _ in range(rng.randint(1, 2))],
                          steps=rng.randint(1, 150)))
    return cases


def chained_scheduler_cases(rng):
    ch = lambda *children: {"chained_scheduler": {"schedulers": list(children)}}
    cases = [
        case("constant_and_exponential", ch({"constant_lr": {"factor": 0.1, "total_iters": 2}},
                                            {"exponential_lr": {"gamma": 0.9}})),
        case("warmup_and_step", ch({"linear_lr": {"start_factor": 0.1, "total_iters": 10}},
                                   {"step_lr": {"step_size": 5, "gamma": 0.5}})),
        case("single", ch({"exponential_lr": {"gamma": 0.95}})),
        case("three", ch({"linear_lr": {"start_factor": 0.5, "total_iters": 4}},
                         {"multi_step_lr": {"milestones": [0, 10, 20]}},
                         {"cosine_annealing_lr": {"t_max": 15}})),
        case("exponential_then_cyclic", ch({"exponential_lr": {"gamma": 0.9}},
                                           {"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1],
                                                          "step_size_up": 4}})),
        case("cyclic_then_exponential", ch({"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1],
                                                          "step_size_up": 4}},
                                           {"exponential_lr": {"gamma": 0.99}})),
        case("one_cycle_then_constant", ch({"one_cycle_lr": {"max_lr": [0.1],
                                                             "total_steps": 60}},
                                           {"constant_lr": {"factor": 0.5, "total_iters": 10}})),
        case("warm_restarts_and_exponential", ch({"cosine_annealing_warm_restarts": {"t_0": 8}},
                                                 {"exponential_lr": {"gamma": 0.97}})),
        case("three_groups", ch({"linear_lr": {"start_factor": 0.2, "total_iters": 6}},
                                {"exponential_lr": {"gamma": 0.9}}), [0.1, 1.0, 0.01]),
        case("long", ch({"linear_lr": {"start_factor": 0.01, "total_iters": 1000}},
                        {"exponential_lr": {"gamma": 0.99997}}), [0.2], steps=LONG),
    ]
    for i in range(24):
        children = [random_child(rng) for _ in range(rng.randint(1, 3))]
        cases.append(case(f"random_{i}", ch(*children),
                          [round(rng.uniform(1e-3, 1), 5) for _ in range(rng.randint(1, 2))],
                          steps=rng.randint(1, 200)))
    return cases


def override_cases(rng):
    """Operator overrides of every kind on every scheduler."""
    def set_lrs(step, *values):
        return {"effective_step": step, "mode": "SET_LEARNING_RATE",
                "lrs": {"values": list(values)}}

    def set_factor(step, factor):
        return {"effective_step": step, "mode": "SET_LEARNING_RATE", "factor": factor}

    def scale(step, factor):
        return {"effective_step": step, "mode": "SCALE_SCHEDULE", "factor": factor}

    specs = {
        "step_lr": {"step_lr": {"step_size": 5, "gamma": 0.5}},
        "multi_step_lr": {"multi_step_lr": {"milestones": [10, 20, 30]}},
        "exponential_lr": {"exponential_lr": {"gamma": 0.95}},
        "cosine_annealing_lr": {"cosine_annealing_lr": {"t_max": 10, "eta_min": 0.001}},
        "cyclic_lr": {"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1], "step_size_up": 4}},
        "linear_lr": {"linear_lr": {"start_factor": 0.1, "total_iters": 20}},
        "constant_lr": {"constant_lr": {"factor": 0.5, "total_iters": 12}},
        "polynomial_lr": {"polynomial_lr": {"total_iters": 30, "power": 2.0}},
        "one_cycle_lr": {"one_cycle_lr": {"max_lr": [0.1], "total_steps": 40}},
        "cosine_annealing_warm_restarts": {"cosine_annealing_warm_restarts": {"t_0": 6,
                                                                              "eta_min": 1e-4}},
        "sequential_lr": {"sequential_lr": {"schedulers": [
            {"linear_lr": {"start_factor": 0.1, "total_iters": 5}},
            {"cosine_annealing_lr": {"t_max": 20}}], "milestones": [8]}},
        "chained_scheduler": {"chained_scheduler": {"schedulers": [
            {"constant_lr": {"factor": 0.5, "total_iters": 4}},
            {"exponential_lr": {"gamma": 0.9}}]}},
        "reduce_lr_on_plateau": {"reduce_lr_on_plateau": {"patience": 1, "factor": 0.5,
                                                          "min_lr": [0.002]}},
    }
    cases = []
    for name, spec in specs.items():
        metrics = metric_series("flat", 40) if "reduce_lr_on_plateau" in spec else None
        cases.append(case(f"{name}_set", spec, [0.1, 0.2], steps=40, metrics=metrics))
        cases[-1]["overrides"] = [set_lrs(3, 0.05), set_lrs(9, 0.3, 0.01),
                                  set_factor(15, 0.5)]
        cases.append(case(f"{name}_scale", spec, [0.1, 0.2], steps=40, metrics=metrics))
        cases[-1]["overrides"] = [scale(4, 0.5), scale(11, 3.0)]
        cases.append(case(f"{name}_at_step_0", spec, [0.1], steps=20, metrics=metrics))
        cases[-1]["overrides"] = [rng.choice([set_lrs(0, 0.07), scale(0, 0.3)]),
                                  set_factor(7, 2.0)]
    return cases


def invalid_cases():
    """Configurations PyTorch rejects, at construction or at a later step.

    lrsched refuses them, or ends the schedule at the step before (OneCycleLR
    past total_steps, CyclicLR's overflows). The OneCycleLR cycles PyTorch
    cannot finish are traced with their values, in one_cycle_lr_cases.
    """
    bad = lambda name, spec, base_lrs=(0.1,), steps=50, metrics=None: case(
        name, spec, base_lrs, steps, metrics)
    return [
        bad("step_lr_step_size_0", {"step_lr": {"step_size": 0}}),
        bad("cosine_t_max_0", {"cosine_annealing_lr": {"t_max": 0}}),
        bad("cyclic_step_size_up_0", {"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1],
                                                    "step_size_up": 0}}),
        bad("cyclic_both_sizes_0", {"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1],
                                                  "step_size_up": 0, "step_size_down": 0}}),
        bad("cyclic_list_length", {"cyclic_lr": {"base_lr": [0.01, 0.02], "max_lr": [0.1]}},
            [0.1, 0.1, 0.1]),
        bad("cyclic_triangular2_overflow", {"cyclic_lr": {
            "base_lr": [0.01], "max_lr": [0.1], "step_size_up": 1, "step_size_down": 1,
            "mode": "TRIANGULAR2"}}, steps=2100),
        bad("cyclic_triangular2_overflow_fractional", {"cyclic_lr": {
            "base_lr": [0.01], "max_lr": [0.1], "step_size_up": 1.5, "step_size_down": 0.25,
            "mode": "TRIANGULAR2"}}, steps=1900),
        bad("cyclic_exp_range_overflow", {"cyclic_lr": {
            "base_lr": [0.01], "max_lr": [0.1], "step_size_up": 5, "mode": "EXP_RANGE",
            "gamma": 2.0}}, steps=1100),
        bad("cyclic_exp_range_overflow_slow", {"cyclic_lr": {
            "base_lr": [0.01], "max_lr": [0.1], "step_size_up": 5, "mode": "EXP_RANGE",
            "gamma": 1.5}}, steps=1900),
        bad("plateau_factor_1", {"reduce_lr_on_plateau": {"factor": 1.0}}),
        bad("plateau_factor_2", {"reduce_lr_on_plateau": {"factor": 2.0}}),
        bad("plateau_min_lr_length", {"reduce_lr_on_plateau": {"min_lr": [0.1, 0.2]}},
            [0.1, 0.1, 0.1]),
        bad("linear_start_factor_above_1", {"linear_lr": {"start_factor": 1.5}}),
        bad("linear_end_factor_above_1", {"linear_lr": {"end_factor": 1.5}}),
        bad("linear_start_factor_0", {"linear_lr": {"start_factor": 0.0}}),
        bad("constant_factor_above_1", {"constant_lr": {"factor": 1.5}}),
        bad("constant_factor_0", {"constant_lr": {"factor": 0.0, "total_iters": 3}}),
        bad("polynomial_negative_power", {"polynomial_lr": {"total_iters": 4, "power": -1.0}}),
        bad("one_cycle_no_total", {"one_cycle_lr": {"max_lr": [0.1]}}),
        bad("one_cycle_total_0", {"one_cycle_lr": {"max_lr": [0.1], "total_steps": 0}}),
        bad("one_cycle_epochs_0", {"one_cycle_lr": {"max_lr": [0.1], "epochs": 0,
                                                    "steps_per_epoch": 10}}),
        bad("one_cycle_steps_per_epoch_0", {"one_cycle_lr": {"max_lr": [0.1], "epochs": 3,
                                                             "steps_per_epoch": 0}}),
        bad("one_cycle_pct_start_above_1", {"one_cycle_lr": {"max_lr": [0.1],
                                                             "total_steps": 10,
                                                             "pct_start": 1.5}}),
        bad("one_cycle_pct_start_negative", {"one_cycle_lr": {"max_lr": [0.1],
                                                              "total_steps": 10,
                                                              "pct_start": -0.1}}),
        bad("one_cycle_first_phase_zero", {"one_cycle_lr": {"max_lr": [0.1], "total_steps": 10,
                                                            "pct_start": 0.1}}),
        bad("one_cycle_pct_start_1_total_steps_1", {"one_cycle_lr": {
            "max_lr": [0.1], "total_steps": 1, "pct_start": 1.0}}),
        bad("one_cycle_three_phase_pct_start_1_total_steps_1", {"one_cycle_lr": {
            "max_lr": [0.1], "total_steps": 1, "pct_start": 1.0, "three_phase": True}}),
        bad("one_cycle_past_total_steps", {"one_cycle_lr": {"max_lr": [0.1],
                                                            "total_steps": 20}}),
        bad("one_cycle_list_length", {"one_cycle_lr": {"max_lr": [0.1, 0.2],
                                                       "total_steps": 20}}, [0.1, 0.1, 0.1]),
        bad("warm_restarts_t_0_0", {"cosine_annealing_warm_restarts": {"t_0": 0}}),
        bad("warm_restarts_t_mult_0", {"cosine_annealing_warm_restarts": {"t_0": 3,
                                                                          "t_mult": 0}}),
        bad("sequential_milestone_count", {"sequential_lr": {
            "schedulers": [{"step_lr": {"step_size": 2}}, {"exponential_lr": {"gamma": 0.9}}],
            "milestones": []}}),
        bad("sequential_linear_total_iters_0_restarted", {"sequential_lr": {
            "schedulers": [{"step_lr": {"step_size": 2}}, {"linear_lr": {"total_iters": 0}}],
            "milestones": [5]}}),
        bad("sequential_polynomial_total_iters_0_restarted", {"sequential_lr": {
            "schedulers": [{"step_lr": {"step_size": 2}}, {"polynomial_lr": {"total_iters": 0}}],
            "milestones": [5]}}),
        bad("sequential_nested_restarted", {"sequential_lr": {
            "schedulers": [{"step_lr": {"step_size": 2}},
                           {"chained_scheduler": {"schedulers": [
                               {"exponential_lr": {"gamma": 0.9}}]}}],
            "milestones": [5]}}),
        bad("chained_empty", {"chained_scheduler": {"schedulers": []}}),
        bad("chained_with_plateau", {"chained_scheduler": {"schedulers": [
            {"exponential_lr": {"gamma": 0.9}}, {"reduce_lr_on_plateau": {}}]}},
            metrics=[1.0] * 50),
    ]


FAMILIES = [
    ("step_lr", step_lr_cases),
    ("multi_step_lr", multi_step_lr_cases),
    ("exponential_lr", exponential_lr_cases),
    ("cosine_annealing_lr", cosine_annealing_lr_cases),
    ("cyclic_lr", cyclic_lr_cases),
    ("reduce_lr_on_plateau", reduce_lr_on_plateau_cases),
    ("linear_lr", linear_lr_cases),
    ("constant_lr", constant_lr_cases),
    ("polynomial_lr", polynomial_lr_cases),
    ("one_cycle_lr", one_cycle_lr_cases),
    ("cosine_annealing_warm_restarts", warm_restarts_cases),
    ("sequential_lr", sequential_lr_cases),
    ("chained_scheduler", chained_scheduler_cases),
    ("overrides", override_cases),
]


# ---------------------------------------------------------------- writing


def json_value(value):
    """proto3 JSON: non-finite doubles are the strings NaN, Infinity, -Infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value


def pack_values(values):
    """float64 values -> XOR-delta, byte-shuffled, base64 (see the docstring)."""
    count = len(values)
    words = struct.unpack(f"<{count}Q", struct.pack(f"<{count}d", *values))
    previous, deltas = 0, []
    for word in words:
        deltas.append(word ^ previous)
        previous = word
    raw = struct.pack(f"<{count}Q", *deltas)
    shuffled = b"".join(raw[k::8] for k in range(8))
    return base64.b64encode(shuffled).decode()


def write_jsonl_gz(path, records):
    # mtime=0 keeps the bytes identical from run to run.
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                 compresslevel=9) as out:
        for record in records:
            line = json.dumps(json_value(record), separators=(",", ":"), allow_nan=False)
            out.write(line.encode() + b"\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {"torch_version": torch.__version__, "python_version": sys.version.split()[0],
                "generator": "tests/data/gen_pytorch_traces.py", "files": {}}
    for family, make_cases in FAMILIES:
        rng = random.Random(f"lrsched-{family}")
        records, values = [], 0
        for c in make_cases(rng):
            result = run(c["spec"], c["base_lrs"], c["steps"], c["metrics"],
                         c.get("overrides", ()))
            if "lrs" not in result:
                sys.exit(f"{family}/{c['name']}: PyTorch failed: {result}")
            values += len(result["lrs"]) + len(result["momentums"])
            c.update(lrs=pack_values(result["lrs"]), momentums=pack_values(result["momentums"]))
            if c.pop("ends_by_raising", False):
                end = run(c["spec"], c["base_lrs"], c["steps"] + 1, c["metrics"],
                          c.get("overrides", ()))
                if end.get("error_step") != c["steps"] + 1:
                    sys.exit(f"{family}/{c['name']}: PyTorch did not raise at step "
                             f"{c['steps'] + 1}: {end}")
                c.update(end)
            records.append(c)
        write_jsonl_gz(os.path.join(OUT, f"{family}.jsonl.gz"), records)
        manifest["files"][f"{family}.jsonl.gz"] = {"cases": len(records), "values": values}
        print(f"{family}: {len(records)} cases, {values} values", file=sys.stderr)
    invalid = []
    for c in invalid_cases():
        result = run(c["spec"], c["base_lrs"], c["steps"], c["metrics"])
        if "lrs" in result:
            sys.exit(f"invalid/{c['name']}: PyTorch accepted it")
        c.update(result)
        invalid.append(c)
    write_jsonl_gz(os.path.join(OUT, "invalid.jsonl.gz"), invalid)
    manifest["files"]["invalid.jsonl.gz"] = {"cases": len(invalid), "values": 0}
    with open(os.path.join(OUT, "manifest.json"), "w") as out:
        json.dump(manifest, out, indent=2, sort_keys=True)
        out.write("\n")


if __name__ == "__main__":
    main()
