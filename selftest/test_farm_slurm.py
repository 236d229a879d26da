"""`asicdv regress --farm slurm` against a real one-node SLURM (scripts/slurm-up.sh starts it; .ci/run
does before `make test`): the same verdicts as local, a cancelled job's run retried with nothing lost,
a run lost for good labelled infrastructure (apart from DUT failures, failing the gate), and SIGTERM of
the regression leaving no job queued and no simulator running."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from asicdv import project
from asicdv.tools import cli, farm, formal
from asicdv.tools.regress import Regression, RegressionOptions

ROOT = project.current().root
SLURM_UP = ROOT / "scripts" / "slurm-up.sh"


def _slurm_ready() -> bool:
    if shutil.which("sinfo") is None and os.getuid() != 0:
        return False
    result = subprocess.run(["bash", str(SLURM_UP)], capture_output=True, text=True, check=False)
    return result.returncode == 0


pytestmark = [
    pytest.mark.skipif(not _slurm_ready(), reason="no SLURM here and not root to start one (scripts/slurm-up.sh)"),
    pytest.mark.xdist_group("slurm"),  # the one-node farm has 2 CPUs: one farm test at a time
]


def queue(out: Path) -> list[str]:
    """This regression's jobs in the queue: 'id state' lines."""
    listing = subprocess.run(
        ["squeue", "-h", "-n", farm.job_name(out), "-o", "%i %T"], capture_output=True, text=True, check=True
    )
    return listing.stdout.split("\n")[:-1]


def wait_for(condition, timeout_s: float, what: str):
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def regression_file(folder: Path, entries: list[dict]) -> Path:
    path = folder / "farm.yaml"
    path.write_text(json.dumps({"description": "farm test", "seed": 11, "entries": entries}))
    return path


QUICK = [
    {"block": "crc32", "tests": ["CheckValueTest", "RandomMessagesTest"], "reseeds": 1},
    {"block": "crc32", "module": "selftest.night_fixtures", "tests": ["PassesQuickly"], "seeds": [1, 2]},
]
SLOW = [{"block": "crc32", "module": "selftest.night_fixtures", "tests": ["TakesAWhile"], "seeds": [1, 2, 3]}]


def run_regression(path: Path, out: Path, farm: str | None, jobs: int = 2, **farm_settings) -> tuple[int, dict]:
    options = RegressionOptions(jobs=jobs, out=out, farm=farm, record_history=False, quiet=True)
    regression = Regression(str(path), options)
    settings = {"memory": "1GB", "walltime": "00:20:00", "start_timeout_s": 120, **farm_settings}
    regression.project = dataclasses.replace(regression.project, farm=settings)
    code = regression.run()
    return code, json.loads((out / "summary.json").read_text())


def verdicts(summary: dict) -> dict[str, str]:
    return {r["id"]: r["status"] for r in summary["runs"]}


def formal_verdicts(summary: dict) -> list[tuple]:
    return sorted((r["key"], r["verdict"], r["depth"]) for r in summary["formal"]["properties"])


def test_farm_gives_the_verdicts_of_a_local_run_and_leaves_the_queue_empty(tmp_path):
    formal.warm_up()  # the yowasp cache compiled before a SLURM worker needs it
    path = regression_file(tmp_path, [*QUICK, {"block": "crc32", "formal": True, "tasks": ["handshake"]}])
    local_code, local = run_regression(path, tmp_path / "local", None)
    farm_code, farm = run_regression(path, tmp_path / "farm", "slurm")
    assert local_code == farm_code == 0
    assert verdicts(farm) == verdicts(local) and len(verdicts(farm)) == 4
    assert {r["seed"] for r in farm["runs"]} == {r["seed"] for r in local["runs"]}
    # the formal run too ran in a SLURM job's worker, with the local run's verdicts
    assert formal_verdicts(farm) == formal_verdicts(local) and {v[1] for v in formal_verdicts(farm)} == {"proved"}
    (record,) = (json.loads(line) for line in (tmp_path / "farm" / "formal.jsonl").read_text().splitlines())
    assert record["pid"] != os.getpid() and farm["sessions"][0]["executor"] == "farm slurm"
    assert wait_for(lambda: not queue(tmp_path / "farm"), 30, "the farm's jobs to leave the queue") is True


def _cancel_a_running_job(out: Path, cancelled: list):
    """Once a run is under way on the farm, scancel the job it runs in."""

    def running_job():
        started = any(out.glob("runs/**/sim.log"))
        jobs = [line.split()[0] for line in queue(out) if line.endswith("RUNNING")]
        return jobs[0] if started and jobs else None

    job = wait_for(running_job, 120, "a farm job running a simulation")
    time.sleep(1.0)
    subprocess.run(["scancel", job], check=True)
    cancelled.append(job)


def run_with_a_job_cancelled(folder: Path, retries: int) -> tuple[int, dict, Path]:
    """The slow regression on the farm, with one job scancel'ed while it runs a simulation."""
    out, cancelled = folder / "out", []
    killer = threading.Thread(target=_cancel_a_running_job, args=(out, cancelled))
    killer.start()
    code, summary = run_regression(regression_file(folder, SLOW), out, "slurm", retries=retries)
    killer.join()
    assert cancelled, "no job was cancelled"
    return code, summary, out


def test_a_cancelled_job_is_retried_and_nothing_is_lost(tmp_path):
    code, summary, out = run_with_a_job_cancelled(tmp_path, retries=2)
    assert code == 0 and summary["counts"]["missing"] == 0 and summary["counts"]["infrastructure"] == 0
    assert sorted(verdicts(summary).values()) == ["pass"] * 3
    assert wait_for(lambda: not queue(out), 30, "an empty queue") is True


def test_a_run_lost_for_good_is_infrastructure_not_a_dut_failure(tmp_path, capsys):
    code, summary, out = run_with_a_job_cancelled(tmp_path, retries=0)
    statuses = sorted(verdicts(summary).values())
    assert code == 1 and "infrastructure" in statuses and "fail" not in statuses
    assert summary["counts"]["infrastructure"] == statuses.count("infrastructure")
    assert summary["counts"]["failed"] == 0 and summary["buckets"] == []  # no DUT failure bucket
    junit = (out / "junit.xml").read_text()
    assert "lost to the farm" in junit and "<failure" not in junit
    assert cli.main(["gate", str(out)]) == 1
    assert "FAIL  infrastructure" in capsys.readouterr().out
    assert wait_for(lambda: not queue(out), 30, "an empty queue") is True


def _cwd(pid: str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:  # gone, or not ours to read
        return ""


def test_sigterm_cancels_every_job_and_leaves_no_simulator(tmp_path):
    path = regression_file(tmp_path, SLOW)
    out = tmp_path / "out"
    asicdv = Path(sys.executable).parent / "asicdv"
    proc = subprocess.Popen(
        [str(asicdv), "regress", str(path), "--farm", "slurm", "-j", "2", "--out", str(out), "--no-history"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for(lambda: any(out.glob("runs/**/sim.log")) and queue(out), 120, "a simulation running on the farm")
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert wait_for(lambda: not queue(out), 30, "an empty queue after SIGTERM") is True
    # the simulators of this regression: run in its results folder (their working directory)
    simulators = [pid for pid in os.listdir("/proc") if pid.isdigit() and _cwd(pid).startswith(f"{out}/")]
    assert simulators == [], f"processes still running in {out}: {simulators}"
