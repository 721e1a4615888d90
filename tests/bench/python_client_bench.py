#!/usr/bin/python3
"""Cost of a metric-free lrsched.torch.RemoteScheduler's step() against the
local PyTorch scheduler's step(), amortised over a run of steps, and the
RPCs the run takes.

Starts its own lrsched-server (--server=BINARY, on a free loopback port with
its state in a temporary directory; sync=full, as by default) or uses a
running one (--target=HOST:PORT). For each schedule, each run times:

  local   the PyTorch scheduler's step(), STEPS times, on one parameter group;
  remote  RemoteScheduler: its construction (CreateJob and the first Step),
          then step() STEPS times; the figure is the whole divided by STEPS.

Prints the median of --runs runs per schedule, and the RPCs of one run.

Usage (from the repository root, after a build):
    PYTHONPATH=build/client/python/package /usr/bin/python3 \\
        tests/bench/python_client_bench.py --server=build/service/lrsched-server
"""

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings

import torch
from torch.optim import lr_scheduler as S

import lrsched.torch

warnings.filterwarnings("ignore", category=UserWarning)

SCHEDULES = {
    "OneCycleLR (cycles momentum)": lambda o, n: S.OneCycleLR(o, max_lr=0.1, total_steps=n),
    "CosineAnnealingLR": lambda o, n: S.CosineAnnealingLR(o, T_max=n),
    "StepLR": lambda o, n: S.StepLR(o, step_size=1000, gamma=0.5),
    "SequentialLR (LinearLR, then CosineAnnealingLR)": lambda o, n: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.01, total_iters=500), S.CosineAnnealingLR(o, T_max=n)],
        milestones=[500]),
}


def start_server(binary, state_dir):
    process = subprocess.Popen([binary, "--listen=127.0.0.1:0", f"--state={state_dir}/state.db"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for line in process.stdout:
        match = re.search(rb"\(port (\d+)\)", line)
        if match:
            # Keep draining the output so that the server never blocks on it.
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, f"127.0.0.1:{match.group(1).decode()}"
    sys.exit(f"lrsched-server did not start (exit {process.wait()})")


def optimizer():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(10))], lr=0.1, momentum=0.9)


class Clock:
    """Wall time and this process's CPU time (all its threads: the
    background fetch and gRPC's own included), in microseconds per step."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def per_step(self, steps):
        return ((time.perf_counter() - self.wall) * 1e6 / steps,
                (time.process_time() - self.cpu) * 1e6 / steps)


def time_local(make, steps):
    scheduler = make(optimizer(), steps)
    clock = Clock()
    for _ in range(steps):
        scheduler.step()
    return clock.per_step(steps)


def time_remote(make, steps, target, look_ahead, prefetch):
    o = optimizer()
    local = make(o, steps)
    whole = Clock()
    scheduler = lrsched.torch.RemoteScheduler(o, f"bench-{uuid.uuid4().hex}", local,
                                              server=target, look_ahead=look_ahead,
                                              prefetch=prefetch)
    stepping = Clock()
    for _ in range(steps):
        scheduler.step()
    steps_only, total = stepping.per_step(steps), whole.per_step(steps)
    rpcs = 1 + scheduler.step_rpcs  # CreateJob and the Step calls
    scheduler.close()
    return total, steps_only, rpcs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", help="lrsched-server binary to start")
    where.add_argument("--target", help="host:port of a running server")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--look_ahead", type=int, default=1000)
    parser.add_argument("--prefetch", action="store_true",
                        help="fetch the next window in the background as soon as one arrives")
    args = parser.parse_args()
    torch.set_num_threads(1)

    process = None
    with tempfile.TemporaryDirectory() as state_dir:
        target = args.target
        if args.server:
            process, target = start_server(args.server, state_dir)
        try:
            print(f"{args.steps} steps, median of {args.runs} runs, look_ahead "
                  f"{args.look_ahead}{', prefetch' if args.prefetch else ''}, torch "
                  f"{torch.__version__}, Python {sys.version.split()[0]}")
            print("us per step() (wall / CPU of the process); remote: CreateJob, the first "
                  "Step and every step() over the steps; steps only: without the first two")
            print(f"{'schedule':48} {'local':>13} {'remote':>13} {'steps only':>13} {'RPCs':>5}")
            slower = []
            for name, make in SCHEDULES.items():
                local = [time_local(make, args.steps) for _ in range(args.runs)]
                remote = [time_remote(make, args.steps, target, args.look_ahead,
                                      args.prefetch)
                          for _ in range(args.runs)]

                def median(values):
                    values = list(values)
                    return (f"{statistics.median(v[0] for v in values):5.2f} / "
                            f"{statistics.median(v[1] for v in values):5.2f}")

                print(f"{name:48} {median(local):>13} {median(r[0] for r in remote):>13} "
                      f"{median(r[1] for r in remote):>13} {remote[0][2]:5d}")
                if statistics.median(r[0][0] for r in remote) > statistics.median(
                        v[0] for v in local):
                    slower.append(name)
            if slower:
                print(f"remote slower than local (wall) for: {', '.join(slower)}")
        finally:
            if process is not None:
                process.kill()
                process.wait()


if __name__ == "__main__":
    main()
