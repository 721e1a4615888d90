"""examples/ddp_train.py under torch.distributed.run with two ranks, against
a real server: it runs to its end, every rank prints the same learning rate
at every epoch, and the schedule does reduce it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "ddp_train.py")


def test_ddp_example_with_two_ranks(server):
    with socket.socket() as probe:
        # torch.distributed.run's static rendezvous needs a port of its own.
        probe.bind(("127.0.0.1", 0))
        master_port = probe.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
         "--master_addr=127.0.0.1", f"--master_port={master_port}",
         # Debian 12's torch 1.13 on Python 3.11 cannot parse the default
         # --redirects=0 (its Std enum lost NONE from iteration); 1 works.
         "--redirects=1", "--tee=1", EXAMPLE,
         f"--server={server.target}", "--job=ddp-example", "--epochs=15"],
        env=dict(os.environ, OMP_NUM_THREADS="1"), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=300)
    output = result.stdout.decode()
    assert result.returncode == 0, output
    lrs = {0: {}, 1: {}}
    for rank, epoch, lr in re.findall(r"rank (\d) epoch (\d+) lr (\S+)", output):
        lrs[int(rank)][int(epoch)] = float(lr)
    assert sorted(lrs[0]) == list(range(15)), output
    assert lrs[0] == lrs[1], output
    assert len(set(lrs[0].values())) >= 2, f"no reduction in 15 epochs:\n{output}"
