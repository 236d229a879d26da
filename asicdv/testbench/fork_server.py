"""Simulator side of batched runs: a started, imported simulator forks one child per run.

`serve` is the first of cocotb's PYGPI_USERS entry points (asicdv.tools.run_server starts the
simulator so). It imports what every run imports (cocotb, the test module with cocotb's assertion
rewriting, pyuvm, hypothesis, numpy), then reads one request a line: the run's environment, folder,
log and seed. For each it forks; the child takes the run's environment, folder and log, gets a
Verilator model of its own built with the run's seed (a coverage build's runs start at zero, so
they keep the server's untouched model and its coverage points), and returns, so cocotb's own entry points
start that run as in a fresh process. The server waits for the child and reports its exit status.
A crash or a hang ends the child only; a fork gives every run the same state to start from, so
nothing a run does (module state, tasks left running, the DUT) reaches the next one.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import importlib
import json
import os
import signal
import sys
from pathlib import Path

REQUESTS = "ASICDV_FORK_REQUESTS"  # the pipe this server reads requests from (a file descriptor)
REPLIES = "ASICDV_FORK_REPLIES"  # the pipe it writes each child's pid and exit status to
PR_SET_PDEATHSIG = 1
_forked_run = False  # set in the child: the server itself ends as any simulator does


def serve() -> None:
    if REQUESTS not in os.environ:
        return  # a plain simulator process: cocotb's entry points run the one run
    atexit.register(_leave_forked_run)  # first registered, so it runs last: after every other exit handler
    requests = os.fdopen(int(os.environ.pop(REQUESTS)), "r")
    replies = os.fdopen(int(os.environ.pop(REPLIES)), "w", buffering=1)
    _preload()
    gc.collect()
    gc.freeze()  # what every run shares stays out of each child's collections (and its pages shared)
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            requests.close()
            replies.close()
            _become_run(request)
            return  # cocotb's entry points run this child's test
        replies.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"pid": pid, "status": os.waitstatus_to_exitcode(status)}) + "\n")
    os._exit(0)  # the host closed the pipe: no more runs (the server's own simulation never starts)


def _preload() -> None:
    """Import, before any fork, what cocotb's entry points and the test module will import."""
    for name in ("cocotb_tools._coverage", "cocotb.logging", "cocotb._init", "cocotb.regression"):
        importlib.import_module(name)
    from cocotb.regression import RegressionManager

    RegressionManager.setup_pytest_assertion_rewriting()  # as cocotb does before importing tests
    # Installed once here; each run's regression would build a pytest config again for nothing.
    RegressionManager.setup_pytest_assertion_rewriting = classmethod(lambda cls: None)
    sys.path.insert(0, "")  # as cocotb's regression does: test modules import from the run folder
    try:
        for module in filter(None, os.environ.get("COCOTB_TEST_MODULES", "").split(",")):
            importlib.import_module(module.strip())
    except BaseException:  # noqa: BLE001 - each run imports it again and reports the error itself
        pass
    finally:
        sys.path.remove("")
    # The project's own modules (tests, env, models) are imported again by each run: they may read
    # the run's environment (its seed) when imported. What they import stays: libraries, asicdv.
    for name in _project_modules():
        del sys.modules[name]


def _project_modules() -> list[str]:
    import sysconfig

    import asicdv

    kept = {Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    kept.add(Path(asicdv.__file__).resolve().parent)
    found = []
    for name, module in list(sys.modules.items()):
        places = [getattr(module, "__file__", None)] + list(getattr(module, "__path__", None) or [])
        places = [Path(p).resolve() for p in places if isinstance(p, str)]
        if places and not any(place.is_relative_to(root) for place in places for root in kept):
            found.append(name)
    return found


def _become_run(request: dict) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if sys.platform.startswith("linux"):
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the run dies with its server
    os.setpgid(0, 0)  # its own group: the host kills the run (and what it started) on a timeout
    os.chdir(request["cwd"])
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ.clear()
    os.environ.update(request["env"])
    with contextlib.suppress(AttributeError):  # Icarus: no Verilator model to rebuild
        libc.asicdv_fork_reseed(ctypes.c_int(request["verilator_seed"]))
    global _forked_run
    _forked_run = True


def _leave_forked_run() -> None:
    """The run's results are written: leave as the simulator's main would (its coverage file and
    exit status, asicdv_fork_leave), skipping Python's finalization, which would free the heap
    this child shares with its server object by object, for nothing."""
    if not _forked_run:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    with contextlib.suppress(AttributeError):  # Icarus: its own exit
        ctypes.CDLL(None).asicdv_fork_leave()  # returns only for a waves build (main closes its dump)
