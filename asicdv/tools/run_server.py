"""Host side of batched runs: simulator processes that fork one child per run.

A server is a simulator started with asicdv.testbench.fork_server as its first Python entry point;
after its start-up and imports it forks a child per request, so a run pays a fork instead of a
process start, Python's start-up and the imports. Servers are kept per thread and per build (the
thread that started one owns it: it dies with that thread, as a simulator always has), at most
IDLE_PER_THREAD idle ones. A waves build's server serves its one run (the dump belongs to the model
it opened it for), and ASICDV_BATCH=0 makes every server serve one run: a fresh process per run.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from asicdv.testbench import fork_server

# What each run sets for itself; everything else in a run's environment shapes the server.
PER_RUN_KEYS = frozenset(
    {
        "COCOTB_TEST_FILTER",
        "COCOTB_RANDOM_SEED",
        "COCOTB_RESULTS_FILE",
        "ASICDV_SEED",
        "ASICDV_RESPONSE",
        "ASICDV_ATTEMPT",
        "ASICDV_REQUEST",
        "ASICDV_HYPOTHESIS_DB",
        "ASICDV_HYPOTHESIS_REPLAY",
    }
)
COCOTB_ENTRY_POINTS = (
    "cocotb_tools._coverage:start_cocotb_library_coverage",
    "cocotb.logging:_configure",
    "cocotb._init:init_package_from_simulation",
    "cocotb.regression:_run_regression",
)
IDLE_PER_THREAD = 2
START_TIMEOUT_S = 120.0  # a server's start-up and imports, under load


def batching() -> bool:
    """Whether runs share servers (ASICDV_BATCH=0: a fresh simulator process per run)."""
    return os.environ.get("ASICDV_BATCH", "1") != "0"


class ServerLost(Exception):
    """The server died before it forked the run (it is replaced; the run has not started)."""


@dataclass
class Outcome:
    returncode: int
    timed_out: bool


class Server:
    """One simulator process serving runs one after another."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path, log: Path, preexec_fn, live: set, lock):
        requests_read, self._requests = os.pipe()
        self._replies, replies_write = os.pipe()
        env = {
            **env,
            fork_server.REQUESTS: str(requests_read),
            fork_server.REPLIES: str(replies_write),
            "PYGPI_USERS": ",".join(("asicdv.testbench.fork_server:serve", *COCOTB_ENTRY_POINTS)),
        }
        self._live, self._lock = live, lock
        with open(log, "a") as out:
            self.proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(requests_read, replies_write),
                start_new_session=True,  # its own group: a stop kills it and nothing else
                preexec_fn=preexec_fn,
            )
        os.close(requests_read)
        os.close(replies_write)
        self._buffer = b""
        self.runs = 0
        _every_server.add(self)

    def run(self, env: dict[str, str], cwd: Path, log: Path, verilator_seed: int, timeout_s: float) -> Outcome:
        request = {"env": env, "cwd": str(cwd), "log": str(log), "verilator_seed": verilator_seed}
        try:
            os.write(self._requests, (json.dumps(request) + "\n").encode())
        except (BrokenPipeError, OSError):
            raise ServerLost from None
        started = self._reply(START_TIMEOUT_S if self.runs == 0 else 30.0)
        if started is None:
            raise ServerLost
        self.runs += 1
        child = started["pid"]
        with self._lock:
            self._live.add(child)
        try:
            ended = self._reply(timeout_s)
            if ended is not None:
                return Outcome(ended["status"], timed_out=False)
            if not self.alive():  # the server died mid-run (killed): its run died with it
                _kill_group(child)
                self.close()
                return Outcome(self.proc.returncode, timed_out=False)
            _kill_group(child)
            ended = self._reply(10.0)  # the server reaps it and says so
            if ended is None:
                self.close()
            return Outcome(-signal.SIGKILL, timed_out=True)
        finally:
            with self._lock:
                self._live.discard(child)

    def _reply(self, timeout_s: float) -> dict | None:
        """The server's next line, or None if it did not come in time or the server is gone."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._replies], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._replies, 4096)
            if not chunk:
                self.proc.wait()  # the server died: alive() says so from here on
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._requests)  # end of requests: the server exits
        with contextlib.suppress(OSError):
            os.close(self._replies)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc.pid)
            self.proc.wait()
        _every_server.discard(self)


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):  # its group, and itself if it had not made the group yet
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


_every_server: weakref.WeakSet[Server] = weakref.WeakSet()  # of every thread (a stop kills them all)


def kill_servers() -> int:
    """SIGKILL every live server of this process (idle or serving); returns how many. A server that
    died already (with its thread) is reaped, never signalled: its pid may be another process's."""
    killed = 0
    for server in list(_every_server):
        if server.proc.poll() is None:
            _kill_group(server.proc.pid)
            killed += 1
        else:
            _every_server.discard(server)
    return killed


class _Servers(threading.local):
    def __init__(self):
        self.idle: OrderedDict[tuple, Server] = OrderedDict()


_servers = _Servers()


def server_key(cmd: list[str], env: dict[str, str]) -> tuple:
    """Servers are shared by runs of the same executable (as built now) and server environment."""
    info = Path(cmd[0]).stat()
    return (tuple(cmd), info.st_ino, info.st_mtime_ns, tuple(sorted(env.items())))


def take(key: tuple) -> Server | None:
    server = _servers.idle.pop(key, None)
    if server is not None and not server.alive():
        server.close()
        return None
    return server


def give_back(key: tuple, server: Server) -> None:
    """Keep a server for this thread's next run of the same build (the oldest idle one goes)."""
    if not server.alive():
        server.close()
        return
    _servers.idle[key] = server
    while len(_servers.idle) > IDLE_PER_THREAD:
        _, oldest = _servers.idle.popitem(last=False)
        oldest.close()


def close_idle() -> None:
    """Close this thread's idle servers."""
    while _servers.idle:
        _, server = _servers.idle.popitem()
        server.close()
