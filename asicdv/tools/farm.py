"""Batch farms (SLURM, LSF, PBS, SGE, HTCondor) started and stopped by asicdv itself.

`asicdv regress NAME --farm slurm -j N` builds a dask-jobqueue cluster from the project's
`[farm]` settings, scales it to at most N jobs (one worker, one core each) and lets it shrink as
the queue drains; on exit, error, SIGTERM or Ctrl-C every job it submitted is cancelled. At start
it checks that a worker sees the project and the results folder at the same paths as the
submitter (a probe file written by the worker, read here). A run lost to the farm (worker died,
job cancelled, walltime or memory limit, node lost) is an *infrastructure* failure: retried on
another worker, reported apart, never a pass and never a DUT failure.

Settings (asicdv.toml, all optional):

    [farm]
    queue = "debug"             # partition / queue
    account = "chipdv"
    cores = 1                   # per job (one simulation at a time each)
    memory = "2GB"              # per job
    walltime = "01:00:00"
    prologue = ["module load verilator"]   # shell lines before the worker starts
    directives = ["--qos=normal"]          # extra scheduler directives
    start_timeout_s = 120       # how long to wait for the first worker
    retries = 2                 # infrastructure retries of one run
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
import uuid
from pathlib import Path

from asicdv import UserError

FARMS = {
    "slurm": "SLURMCluster",
    "lsf": "LSFCluster",
    "pbs": "PBSCluster",
    "sge": "SGECluster",
    "htcondor": "HTCondorCluster",
}
SETTINGS = {
    "queue": str,
    "account": str,
    "cores": int,
    "memory": str,
    "walltime": str,
    "prologue": list,
    "directives": list,
    "start_timeout_s": (int, float),
    "retries": int,
}
# Exceptions that mean the farm lost the run, not that the DUT failed.
INFRASTRUCTURE_ERRORS = ("KilledWorker", "CommClosedError", "FutureCancelledError", "CancelledError", "TimeoutError")


def check_settings(settings: dict, where: str) -> dict:
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise UserError(f"{where}: [farm] unknown key(s) {', '.join(unknown)}; known: {', '.join(SETTINGS)}")
    for key, kind in SETTINGS.items():
        if key in settings and (not isinstance(settings[key], kind) or isinstance(settings[key], bool)):
            raise UserError(f"{where}: [farm] {key} has the wrong type ({settings[key]!r})")
    for key in ("prologue", "directives"):
        if not all(isinstance(line, str) for line in settings.get(key, [])):
            raise UserError(f"{where}: [farm] {key} is a list of strings")
    if settings.get("cores", 1) < 1 or settings.get("retries", 0) < 0 or settings.get("start_timeout_s", 1) <= 0:
        raise UserError(f"{where}: [farm] cores >= 1, retries >= 0 and start_timeout_s > 0")
    return settings


def is_infrastructure(exc: BaseException) -> bool:
    """True when a run's future failed because its worker or job went away."""
    return type(exc).__name__ in INFRASTRUCTURE_ERRORS or isinstance(exc, (ConnectionError, OSError))


def job_name(out: Path) -> str:
    """The name of this regression's farm jobs (one results folder, one name: `squeue -n` finds them)."""
    import hashlib

    return f"asicdv-{out.name[:16]}-{hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:8]}"


def _probe(folder: str, token: str) -> dict:
    """Runs on a worker: write a probe where the submitter will look for it."""
    path = Path(folder) / f".probe-{token}"
    path.write_text(socket.gethostname())
    return {"host": socket.gethostname(), "cwd": os.getcwd(), "python": sys.executable}


class FarmExecutor:
    """Runs are tasks on workers that are batch jobs of a real scheduler."""

    name = "farm"

    def __init__(self, farm: str, jobs: int, settings: dict, project_root: Path, out: Path, log=print):
        if farm not in FARMS:
            raise UserError(f"unknown farm {farm!r}; known: {', '.join(FARMS)}")
        import dask_jobqueue
        from dask.distributed import Client

        self.farm, self.log = farm, log
        self.retries = settings.get("retries", 2)
        cluster_class = getattr(dask_jobqueue, FARMS[farm])
        logs = out / "farm-logs"
        logs.mkdir(parents=True, exist_ok=True)
        options = {
            "cores": settings.get("cores", 1),
            "processes": 1,
            "memory": settings.get("memory", "2GB"),
            "walltime": settings.get("walltime", "01:00:00"),
            "job_script_prologue": [f"cd {project_root}", *settings.get("prologue", [])],
            "job_extra_directives": list(settings.get("directives", [])),
            "log_directory": str(logs),
            "python": sys.executable,
            "local_directory": str(out / "farm-scratch"),
            "job_name": job_name(out),
            # One task at a time per worker: a simulation owns its core.
            "worker_extra_args": ["--nthreads", "1"],
        }
        if "queue" in settings:
            options["queue"] = settings["queue"]
        if "account" in settings:
            options["account"] = settings["account"]
        import dask

        try:
            # A run whose worker dies is rescheduled on another worker up to `retries` times (the
            # scheduler, which lives in this process, counts); after that it is an infrastructure loss.
            with dask.config.set({"distributed.scheduler.allowed-failures": self.retries}):
                self.cluster = cluster_class(**options)
        except Exception as exc:  # noqa: BLE001 - a missing sbatch/bsub is a clear error, not a traceback
            raise UserError(f"cannot start a {farm} cluster: {type(exc).__name__}: {exc}") from None
        self.client = None
        try:
            self.client = Client(self.cluster)
            self._wait_for_worker(float(settings.get("start_timeout_s", 120)))
            self._check_paths(project_root, out)
            # Up to `jobs` workers while runs wait, none once the queue has drained.
            self.cluster.adapt(minimum=0, maximum=jobs, wait_count=10)
        except BaseException:
            self.close()
            raise

    def job_ids(self) -> list[str]:
        """The scheduler's ids of the jobs this cluster has now."""
        return [job.job_id for job in self.cluster.workers.values() if getattr(job, "job_id", None)]

    def _wait_for_worker(self, timeout_s: float) -> None:
        self.cluster.scale(1)  # one job to probe with
        start = time.monotonic()
        while not self.client.scheduler_info().get("workers"):
            if time.monotonic() - start > timeout_s:
                raise UserError(
                    f"no {self.farm} worker started within {timeout_s:.0f} s; job logs in "
                    f"{self.cluster._dummy_job.log_directory}; job script:\n{self.cluster.job_script()}"
                )
            time.sleep(0.5)

    def _check_paths(self, project_root: Path, out: Path) -> None:
        token = uuid.uuid4().hex
        answer = self.client.submit(_probe, str(out), token, pure=False).result(timeout=60)
        probe = out / f".probe-{token}"
        seen = probe.exists()
        probe.unlink(missing_ok=True)
        if not seen:
            raise UserError(
                f"the {self.farm} worker on {answer['host']} wrote into {out}, but this host does not see it: "
                "workers need the checkout and the results folder at the same path (a shared file system)"
            )
        self.log(f"farm {self.farm}: worker on {answer['host']} sees {project_root} and {out}")

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def stop(self, futures) -> None:
        from asicdv.tools import simulator as sim

        self.client.cancel(list(futures))
        with contextlib.suppress(Exception):  # a worker already gone has nothing left to kill
            self.client.run(sim.kill_live_simulations)

    def close(self) -> None:
        """Cancel every job of the cluster (the queue is empty afterwards)."""
        with contextlib.suppress(Exception):
            if self.client is not None:
                self.client.close()
        with contextlib.suppress(Exception):
            self.cluster.close()
