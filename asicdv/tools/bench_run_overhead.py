"""The bench's per-run overhead, taken apart with small direct timings: what one simulation run
costs besides its simulated work (process start, Python start-up and imports, build lookup,
result writing, the rest of cocotb's start-up and teardown)."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN_IMPORTS = "import cocotb, pyuvm"  # what every run imports (the services need no more)
ALL_IMPORTS = "import cocotb, pyuvm, hypothesis, numpy"  # a property test's or the KPU's
# A fresh Python process timing sim.build() of a cached build twice: the first call hashes the
# build's files (as a new regression process does), the second finds them in its own cache.
BUILD_LOOKUP = """
import json, time
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block
block = get_block({block!r})
times = []
for _ in range(2):
    start = time.perf_counter()
    sim.build(block, {variant!r})
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""
# What the regression appends per run (results.jsonl, one fsynced line), a typical record.
RECORD = {
    "id": "sha256.default.RandomMessagesTest.123",
    "status": "pass",
    "message": "",
    "wall_s": 0.5,
    "sim_time_ns": 123450.0,
    "reproduce": "asicdv run sha256 RandomMessagesTest --seed 123",
    "functional_coverage": {"bins": {f"bin{i}": i for i in range(40)}},
}


def process_seconds(argv: list[str], repeat: int) -> float:
    """Median wall time of a whole process."""
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def build_lookup_seconds(block: str, variant: str) -> tuple[float, float]:
    """(first, repeated) sim.build() of a cached build in a fresh process."""
    code = BUILD_LOOKUP.format(block=block, variant=variant)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    first, again = json.loads(out.stdout.strip().splitlines()[-1])
    return first, again


def result_write_seconds(repeat: int) -> float:
    """Median time of appending one run's record to results.jsonl (ResultStore.append: fsync)."""
    from asicdv.tools.regress.results import ResultStore

    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(Path(tmp))
        walls = []
        for i in range(repeat):
            start = time.perf_counter()
            store.append({**RECORD, "id": f"{RECORD['id']}.{i}"})
            walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def breakdown(
    python_s: float, imports_s: float, lookup_s: float, write_s: float, run_wall_s: float, run_work_s: float
) -> dict:
    """The parts of one run's overhead. run_wall_s / run_work_s: a trivially short cocotb run's
    process wall time and its own simulated work; their difference is everything the simulator
    process adds, of which Python start-up and the run's imports are measured apart; build lookup
    and result writing happen in the regression around the process."""
    process = run_wall_s - run_work_s
    parts = {
        "process_and_python_start_s": python_s,
        "imports_s": imports_s,
        "simulator_and_cocotb_rest_s": process - python_s - imports_s,
        "build_lookup_s": lookup_s,
        "result_write_s": write_s,
    }
    rounded = {key: round(value, 4) for key, value in parts.items()}
    return {**rounded, "total_s": round(sum(parts.values()), 4), "trivial_run_wall_s": round(run_wall_s, 4)}


@contextlib.contextmanager
def batching(on: bool):
    """Runs inside: batched on a simulator server (on) or each in a fresh process (ASICDV_BATCH=0)."""
    saved = os.environ.get("ASICDV_BATCH")
    if on:
        os.environ.pop("ASICDV_BATCH", None)
    else:
        os.environ["ASICDV_BATCH"] = "0"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("ASICDV_BATCH", None)
        else:
            os.environ["ASICDV_BATCH"] = saved


def measure(trivial_run, block: str, variant: str, repeat: int = 5) -> dict:
    """Every part, measured now; trivial_run(batched) -> (its wall s, its own work s). The parts
    are those of a fresh process per run (what a batch saves); the same trivial run batched, its
    server already started, is shown beside them. The build lookup in the total is the repeated
    one (a regression looks a build up once per configuration); the first, in a new process,
    hashes the build's files and is shown apart."""
    python_s = process_seconds([sys.executable, "-c", "pass"], repeat)
    run_imports = process_seconds([sys.executable, "-c", RUN_IMPORTS], repeat)
    all_imports = process_seconds([sys.executable, "-c", ALL_IMPORTS], repeat)
    lookups = [build_lookup_seconds(block, variant) for _ in range(max(1, repeat // 2))]
    first = statistics.median(a for a, _ in lookups)
    again = statistics.median(b for _, b in lookups)
    write_s = result_write_seconds(repeat * 4)
    trivial_run(True)  # starts the build's server: the batched runs below are inside a batch
    runs, batched = [], []
    for _ in range(repeat):  # interleaved
        runs.append(trivial_run(False))
        batched.append(trivial_run(True))
    wall = statistics.median(w for w, _ in runs)
    work = statistics.median(s for _, s in runs)
    out = breakdown(python_s, run_imports - python_s, again, write_s, wall, work)
    out["batched_run_wall_s"] = round(statistics.median(w for w, _ in batched), 4)
    out["batched_run_overhead_s"] = round(statistics.median(w - s for w, s in batched), 4)
    out["imports"] = RUN_IMPORTS
    out["more_imports_s"] = round(all_imports - run_imports, 4)
    out["more_imports"] = ALL_IMPORTS
    out["build_lookup_first_s"] = round(first, 4)
    out["trivial_run"] = f"{block}[{variant}] service, one item"
    return out
