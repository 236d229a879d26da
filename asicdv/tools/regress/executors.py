"""Where runs execute: one simulation run (execute), on local threads or on a Dask cluster."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from asicdv import UserError
from asicdv.tools import simulator as sim
from asicdv.tools.regress.config import RunSpec


def hypothesis_env(out: Path, spec: RunSpec) -> dict[str, str]:
    """Where hypothesis keeps this test's failing examples, and whether to replay them first."""
    env = {"ASICDV_HYPOTHESIS_DB": str(out / "hypothesis" / spec.block / spec.test)}
    if spec.replay:
        env["ASICDV_HYPOTHESIS_REPLAY"] = "1"
    return env


# Errors of the results folder itself (full, read-only, gone): the regression stops with one clear
# error rather than recording runs as failed.
FOLDER_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO}
LOW_SPACE = 64 * 1024  # bytes free below which a run without a result is blamed on the disk


def folder_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in FOLDER_ERRNOS


def _out_of_space(folder: Path) -> bool:
    try:
        stats = os.statvfs(folder)
    except OSError:
        return True
    return stats.f_bavail * stats.f_frsize < LOW_SPACE or (stats.f_files > 0 and stats.f_favail == 0)


def execute(spec_fields: dict, build: sim.Build, out: str, run_subdir: str) -> dict:
    """One simulation run -> a result record (JSON). Runs in a thread or on a Dask worker.

    Each call is one attempt with its own folder, runs/<run id>/<attempt token>/, so nothing an earlier
    attempt left (or a simulator of it still writing) is read as this attempt's result. A run that
    ends without a result on a full disk raises ENOSPC instead of being recorded as failed."""
    spec = RunSpec(**spec_fields)
    out_path = Path(out)
    token = secrets.token_hex(4)
    run_dir = out_path / run_subdir / f"attempt-{token}"
    run_dir.mkdir(parents=True)
    result = sim.run(
        build,
        spec.test,
        spec.seed,
        module=spec.module,
        run_dir=run_dir,
        timeout_s=spec.timeout_s,
        extra_env=hypothesis_env(out_path, spec),
    )
    if not result.passed and _out_of_space(run_dir):
        # Not a failed run: the disk took its result (the attempt's folder is named in the error).
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(run_dir))
    coverage_file = run_dir / "coverage.json"
    coverage = None
    if coverage_file.exists():
        try:
            coverage = json.loads(coverage_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            coverage = None
    return {
        "status": "pass" if result.passed else "fail",
        "message": result.message,
        "log": os.path.relpath(result.log, out_path),
        "waves": os.path.relpath(result.waves, out_path) if result.waves and result.waves.exists() else None,
        "wall_s": round(result.wall_s, 3),
        "sim_time_ns": result.sim_time_ns,
        "functional_coverage": coverage,
        "host": os.uname().nodename,
        "attempt_token": token,
    }


# ---------------------------------------------------------------- executors


class LocalExecutor:
    """Runs on this machine: threads, each waiting on one simulator process."""

    name = "local"

    def __init__(self, jobs: int):
        self.pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="asicdv-run")
        self.stopping: list = []

    def submit(self, fn, *args):
        return self.pool.submit(fn, *args)

    def stop(self, futures) -> None:
        self.stopping = list(futures)
        for future in self.stopping:
            future.cancel()
        sim.kill_live_simulations()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        # A thread that was between its start and its Popen when the stop came starts a simulator
        # after the kill: keep killing until every thread has returned.
        while not all(future.done() for future in self.stopping):
            sim.kill_live_simulations()
            time.sleep(0.05)
        self.pool.shutdown(wait=True)


class DaskExecutor:
    """Each run is a task on a Dask cluster (LocalCluster, or an existing scheduler); needs a shared FS."""

    name = "dask"

    def __init__(self, jobs: int, scheduler: str | None):
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="20s")
            else:
                self.cluster = LocalCluster(
                    n_workers=jobs,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=40,
                )
                self.client = Client(self.cluster)
        except OSError as exc:
            raise UserError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def stop(self, futures) -> None:
        self.client.cancel(list(futures))
        with contextlib.suppress(Exception):  # a worker already gone has nothing left to kill
            self.client.run(sim.kill_live_simulations)  # simulators running on the workers

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
