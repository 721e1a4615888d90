"""The documented install command, for real: client/python/install.sh (what
`make install-python` runs) installs the staged package into a fresh
`python3 -m venv --system-site-packages` environment, offline, and the
installed package (with its generated stubs) drives a real server from
outside the source and build trees."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

INSTALL = os.path.join(os.path.dirname(__file__), "..", "install.sh")

PROBE = """
import sys, torch, lrsched, lrsched.torch
assert lrsched.__file__.startswith(sys.prefix), lrsched.__file__
optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
scheduler = lrsched.torch.RemoteScheduler(
    optimizer, "installed", torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.5),
    server=sys.argv[1])
scheduler.step()
print(scheduler.get_last_lr())
"""


def test_install_into_a_venv(server, tmp_path):
    package = os.environ.get("LRSCHED_PYTHON_PACKAGE")
    if not package:
        pytest.fail("set LRSCHED_PYTHON_PACKAGE to the staged package (CTest does)")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    # No PYTHONPATH: the venv must find the package it installed.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["VIRTUAL_ENV"] = str(venv)
    install = subprocess.run(["bash", INSTALL, package], env=env, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert install.returncode == 0, install.stdout.decode()
    assert f"installed for {venv}/bin/python3" in install.stdout.decode()
    probe = subprocess.run([str(venv / "bin" / "python3"), "-c", PROBE, server.target],
                           env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    assert probe.returncode == 0, probe.stdout.decode()
    assert probe.stdout.decode().strip().endswith("[0.05]")
