"""Shared fixtures: a real lrsched-server on a free loopback port with its
state in a temporary directory, and the project's PyTorch reference traces.

The server binary comes from $LRSCHED_SERVER (CTest sets it to the one just
built).
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import threading

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TRACES = os.path.join(REPO, "tests", "data", "traces")


def server_binary() -> str:
    binary = os.environ.get("LRSCHED_SERVER")
    if not binary:
        pytest.fail("set LRSCHED_SERVER to the lrsched-server binary (CTest does)")
    return binary


class ServerProcess:
    """lrsched-server as a child process.

    start() binds a port the OS picks (or the given one, for a restart on
    the same address) and returns once the server has printed the line with
    its port, so the address is good before any client uses it.
    """

    def __init__(self, state_dir: str, *flags: str):
        self.state = os.path.join(state_dir, "state.db")
        self.log_path = os.path.join(state_dir, "server.log")
        self.flags = list(flags)
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "ServerProcess":
        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen(
            [server_binary(), f"--listen=127.0.0.1:{self.port}", f"--state={self.state}",
             *self.flags],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        found = threading.Event()

        def read(process, log):
            # Keeps draining the output, so that the server never blocks on
            # a full pipe, and copies it to the log for failures.
            for line in process.stdout:
                log.write(line)
                log.flush()
                match = re.search(rb"\(port (\d+)\)", line)
                if match and not found.is_set():
                    self.port = int(match.group(1))
                    found.set()
            found.set()
            log.close()

        threading.Thread(target=read, args=(self.process, open(self.log_path, "ab")),
                         daemon=True).start()
        # The timeout only bounds a failure: the line comes as soon as the
        # server listens.
        if not found.wait(60) or self.process.poll() is not None and not self.port:
            raise RuntimeError(f"lrsched-server did not start:\n{self.log()}")
        return self

    def signal(self, sig: int) -> int:
        """Sends `sig` and waits for the exit; returns the exit status."""
        self.process.send_signal(sig)
        return self.process.wait(60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.signal(signal.SIGKILL)

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()
        except OSError:
            return ""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the tests of a module (each test uses its own jobs)."""
    process = ServerProcess(str(tmp_path_factory.mktemp("server"))).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def traces_module():
    """tests/data/gen_pytorch_traces.py: how each traced scheduler is built
    and run with PyTorch (the reference the traces were written with)."""
    path = os.path.join(REPO, "tests", "data", "gen_pytorch_traces.py")
    spec = importlib.util.spec_from_file_location("gen_pytorch_traces", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
