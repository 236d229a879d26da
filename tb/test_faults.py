"""Fault injection: real regressions (the crc32 core's build, tb/fault_fixtures.py tests) under real
faults: SIGKILL of `asicdv regress` and of a Dask worker, two regressions on one folder, a cut results
line, a full and a read-only disk (real tmpfs mounts; skipped with the reason where mount is not
permitted), relative --out, and a damaged or half-built build cache. Each probe asserts that nothing is
lost, that no verdict is false, and that a fault is one clear error. The input-file and report probes,
which need no simulator, are in selftest/test_reliability.py. docs/reliability.md lists them all."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asicdv import project
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block

ROOT = project.current().root
FIXTURE = "{block: crc32, module: tb.fault_fixtures, tests: [%s], seeds: [%s], timeout_s: %s}"


def regression(tmp_path: Path, *entries: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text("entries:\n" + "".join(f"  - {e}\n" for e in entries))
    return path


def fixture(test: str, seeds, timeout_s: float = 60) -> str:
    return FIXTURE % (test, ", ".join(map(str, seeds)), timeout_s)


@pytest.fixture
def faults(tmp_path):
    folder = tmp_path / "fault"
    folder.mkdir()
    return folder


def environment(faults: Path, **extra) -> dict[str, str]:
    env = {**os.environ, "ASICDV_FAULT_DIR": str(faults), "PYTHONUNBUFFERED": "1", "ASICDV_PROJECT": str(ROOT)}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def command(*args) -> list[str]:
    return [sys.executable, "-m", "asicdv.tools.cli", "regress", *map(str, args), "--max-waves", "0"]


def start(args, env, cwd=ROOT) -> subprocess.Popen:
    # Its own session: the probe's signals go to the regression alone, never to pytest.
    return subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def run(args, env, cwd=ROOT, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return False


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stream:
        return int(stream.read().rsplit(")", 1)[1].split()[1])


def starter_of(simulator: int) -> int:
    """The process that started a simulator: past the simulator server that forked the run."""
    parent = parent_of(simulator)
    if os.readlink(f"/proc/{parent}/exe") == os.readlink(f"/proc/{simulator}/exe"):
        parent = parent_of(parent)
    return parent


def marked(faults: Path, kind: str) -> list[int]:
    """Pids of the simulators that left a `kind` marker (tb/fault_fixtures.py)."""
    return [int(p.name.rsplit(".", 1)[1]) for p in faults.glob(f"{kind}.*")]


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("asicdv: error: "), stderr
    return lines[0]


pytestmark = pytest.mark.skipif(not sim.parent_death_signal(), reason="needs Linux (PR_SET_PDEATHSIG)")


# ---------------------------------------------------------------- kills


def test_sigkill_of_the_regression_kills_its_simulators_and_resume_finishes_exactly(tmp_path, faults):
    path = regression(tmp_path, fixture("SleepsThenPasses", [1, 2]), fixture("Passes", [3]))
    out = tmp_path / "out"
    proc = start(command(path, "--out", out, "-j", "2"), environment(faults, ASICDV_FAULT_SLEEP=60))
    simulators = wait_for(lambda: len(marked(faults, "sleeping")) == 2 and marked(faults, "sleeping"), 180, "2 sims")
    proc.kill()  # SIGKILL: no handler runs
    proc.communicate(timeout=30)
    wait_for(lambda: not any(map(alive, simulators)), 5, "the simulators to die with the regression")
    for stale in faults.glob("sleeping.*"):
        stale.unlink()
    resumed = run(command(path, "--out", out, "-j", "2", "--resume"), environment(faults, ASICDV_FAULT_SLEEP=0))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "ended without a word (killed): recorded as interrupted" in resumed.stdout
    ids = [r["id"] for r in records(out)]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 3  # every run once, nothing lost
    result = summary(out)
    assert result["counts"]["passed"] == 3 and result["counts"]["missing"] == 0
    assert [(s["mode"], s["interrupted"]) for s in result["sessions"]] == [("fresh", True), ("resume", False)]
    assert result["sessions"][0]["state"] == "killed"


def test_no_verdict_from_an_earlier_attempt_after_sigkill_and_resume(tmp_path, faults):
    """The killed attempt would have passed late; the resumed one ends without a result: that is a failure."""
    path = regression(tmp_path, fixture("PassesLateOnceThenEndsWithoutResult", [1], timeout_s=60))
    out = tmp_path / "out"
    env = environment(faults, ASICDV_FAULT_FIRST_S=6, ASICDV_FAULT_AGAIN_S=9)
    proc = start(command(path, "--out", out), env)
    (first,) = wait_for(lambda: marked(faults, "first"), 180, "the first attempt")
    proc.kill()
    proc.communicate(timeout=30)
    wait_for(lambda: not alive(first), 5, "the first attempt's simulator to die")
    resumed = run(command(path, "--out", out, "--resume"), env)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    lines = records(out)  # the result, and the same-seed rerun of a failure: each without a result
    assert {r["id"] for r in lines} == {"crc32.default.PassesLateOnceThenEndsWithoutResult.1"}
    assert all(r["status"] == "fail" and "no result" in r["message"] for r in lines), lines
    assert summary(out)["counts"] == {**summary(out)["counts"], "passed": 0, "failed": 1}


def test_sigkill_of_a_dask_worker_kills_its_simulator_and_the_result_is_a_later_attempts(tmp_path, faults):
    pytest.importorskip("dask.distributed")
    path = regression(tmp_path, fixture("SleepsThenPasses", [1], timeout_s=60))
    out = tmp_path / "out"
    proc = start(
        command(path, "--out", out, "--executor", "dask", "-j", "1"), environment(faults, ASICDV_FAULT_SLEEP=5)
    )
    (simulator,) = wait_for(lambda: marked(faults, "sleeping"), 180, "the simulator on the worker")
    killed_folder = Path(os.readlink(f"/proc/{simulator}/cwd"))
    worker = starter_of(simulator)
    assert worker != proc.pid  # the Dask worker process started it
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: not alive(simulator), 5, "the simulator to die with its worker")
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode in (0, 1), stdout + stderr
    lines = records(out)  # one run: the rerun's result (pass) or the lost worker's, never the orphan's
    assert len({r["id"] for r in lines}) == 1
    record = lines[-1]
    assert record["log"] is None or not (out / record["log"]).is_relative_to(killed_folder)
    assert not list(killed_folder.glob("results-*.xml"))  # the killed attempt wrote no result


# ---------------------------------------------------------------- the results folder


def test_a_second_regression_on_the_same_folder_fails_at_once_naming_the_holder(tmp_path, faults):
    path = regression(tmp_path, fixture("SleepsThenPasses", [1]), fixture("Passes", [2]))
    out = tmp_path / "out"
    env = environment(faults, ASICDV_FAULT_SLEEP=4)
    first = start(command(path, "--out", out), env)
    wait_for(lambda: marked(faults, "sleeping"), 180, "the first regression to run")
    began = time.monotonic()
    second = run(command(path, "--out", out), env, timeout=60)
    assert time.monotonic() - began < 15
    assert second.returncode == 2
    line = one_error_line(second.stderr)
    assert f"is in use by another regression (pid {first.pid} on " in line
    stdout, stderr = first.communicate(timeout=240)
    assert first.returncode == 0, stdout + stderr
    ids = [r["id"] for r in records(out)]
    assert sorted(ids) == ["crc32.default.Passes.2", "crc32.default.SleepsThenPasses.1"]  # each once


def test_relative_out_from_another_folder(tmp_path, faults):
    path = regression(tmp_path, fixture("Passes", [1, 2]))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = environment(faults)
    del env["ASICDV_PROJECT"]
    done = run([*command(path, "--out", "relout"), "--project", ROOT], env, cwd=elsewhere)
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary(elsewhere / "relout")["counts"]["passed"] == 2


def test_a_cut_last_line_is_repaired_and_never_merged_with_the_next_record(tmp_path, faults):
    path = regression(tmp_path, fixture("Passes", [1, 2, 3]))
    out = tmp_path / "out"
    env = environment(faults)
    assert run(command(path, "--out", out, "-j", "2"), env).returncode == 0
    text = (out / "results.jsonl").read_bytes()
    last = text.rstrip(b"\n").rfind(b"\n") + 1
    (out / "results.jsonl").write_bytes(text[: last + (len(text) - last) // 2])  # a kill mid-write
    cut_id = json.loads(text[last:])["id"]
    resumed = run(command(path, "--out", out, "--resume"), env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "removed a cut last line" in resumed.stdout
    lines = records(out)  # every line parses
    assert sorted(r["id"] for r in lines) == sorted({r["id"] for r in lines}) and len(lines) == 3
    assert lines[-1]["id"] == cut_id and summary(out)["counts"]["passed"] == 3


@contextlib.contextmanager
def tmpfs(path: Path, size: str, read_only: bool = False):
    path.mkdir()
    options = f"size={size},mode=0755" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here ({mounted.stderr.strip()}): a real disk fault needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as stream, contextlib.suppress(OSError):
        while True:  # until the disk is full (unbuffered: nothing left to fail at close)
            stream.write(b"\0" * 65536)
    return filler


def test_a_full_disk_is_one_clear_error_and_nothing_unrun_is_reported_passed(tmp_path, faults):
    seeds = list(range(1, 11))
    # Runs of a second each: a batched run of `Passes` takes milliseconds, all ten would end first.
    path = regression(tmp_path, fixture("SleepsThenPasses", seeds))
    with tmpfs(tmp_path / "disk", "8m") as disk:
        out = disk / "out"
        env = environment(faults, ASICDV_FAULT_SLEEP=1)
        proc = start(command(path, "--out", out, "-j", "2"), env)
        wait_for(lambda: (out / "results.jsonl").exists() and len(records(out)) >= 2, 180, "two results")
        filler = fill(disk)
        stdout, stderr = proc.communicate(timeout=240)
        assert proc.returncode == 2, stdout + stderr
        line = one_error_line(stderr)
        assert f"cannot write the results folder {out}: No space left on device" in line
        assert "Traceback" not in stdout + stderr
        recorded = records(out)  # every line whole
        done = int(line.split("; ")[1].split(" of ")[0])
        assert done == len({r["id"] for r in recorded}) and 2 <= done < len(seeds)
        for record in recorded:  # what is recorded passed really ran and passed
            assert record["status"] == "pass" and any((out / record["log"]).parent.glob("results-*.xml"))
        assert f"{len([r for r in recorded if r['status'] == 'pass'])} passed" in stdout
        filler.unlink()
        resumed = run(command(path, "--out", out, "-j", "2", "--resume"), env)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        ids = [r["id"] for r in records(out)]
        assert sorted(ids) == sorted(set(ids)) and len(ids) == len(seeds)
        assert summary(out)["counts"]["passed"] == len(seeds)


def test_an_unwritable_results_folder_is_one_clear_error(tmp_path, faults):
    path = regression(tmp_path, fixture("Passes", [1]))
    env = environment(faults)
    with tmpfs(tmp_path / "ro", "1m", read_only=True) as read_only:
        began = time.monotonic()
        refused = run(command(path, "--out", read_only / "out"), env)
        assert refused.returncode == 2 and time.monotonic() - began < 30
        assert "Read-only file system" in one_error_line(refused.stderr)
    with tmpfs(tmp_path / "rw", "4m") as disk:
        out = disk / "out"
        assert run(command(path, "--out", out), env).returncode == 0
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        for again in ([], ["--resume"], ["--rerun-failed"]):
            refused = run([*command(path, "--out", out), *again], env)
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert f"cannot write the results folder {out}: Read-only file system" in one_error_line(refused.stderr)
        assert summary(out)["counts"]["passed"] == 1  # what was there is untouched


# ---------------------------------------------------------------- the build cache


def damaged_copy(build: sim.Build, tmp_path: Path, name: str) -> Path:
    copy = tmp_path / name / build.directory.name
    shutil.copytree(build.directory, copy)
    return copy


def test_the_build_cache_verifies_what_it_reuses(tmp_path):
    block = get_block("crc32")
    build = sim.build(block)
    executable = build.executable.name
    assert sim.verify_build(build.directory, executable) is None
    objects = sorted(p.name for p in build.directory.glob("*.o"))
    assert objects

    def truncate(path: Path) -> None:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    damages = {
        "truncated binary": (lambda d: truncate(d / executable), f"{executable} differs from what was built"),
        "deleted binary": (lambda d: (d / executable).unlink(), f"{executable} is missing"),
        "truncated object": (lambda d: truncate(d / objects[0]), f"{objects[0]} differs from what was built"),
        "same size, other bytes": (
            lambda d: (d / objects[-1]).write_bytes(bytes(reversed((d / objects[-1]).read_bytes()))),
            f"{objects[-1]} differs from what was built",
        ),
        "stamp without hashes": (lambda d: (d / sim.STAMP).write_text("12.0\n"), "no valid stamp"),
        "stray object": (lambda d: (d / "stray.o").write_bytes(b"x"), "stray.o was not part of the build"),
    }
    for name, (damage, problem) in damages.items():
        copy = damaged_copy(build, tmp_path, name.replace(" ", "-"))
        damage(copy)
        assert sim.verify_build(copy, executable) == problem, name


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog not installed (apt-get install iverilog)")
def test_a_damaged_cached_build_is_rebuilt_and_its_runs_pass(tmp_path):
    """End to end on Icarus (a one-second build): the model truncated after it was cached is rebuilt."""
    block = get_block("crc32")
    root = tmp_path / "cache"
    first = sim.build(block, simulator="icarus", build_root=root)
    assert first.seconds > 0
    assert sim.build(block, simulator="icarus", build_root=root).seconds == 0.0  # verified, reused
    stale = first.directory.parent / f".{first.directory.name}.tmp-99999"  # a build killed earlier
    stale.mkdir()
    first.executable.write_bytes(first.executable.read_bytes()[:100])
    again = sim.build(block, simulator="icarus", build_root=root)
    assert again.seconds > 0 and sim.verify_build(again.directory, again.executable.name) is None
    assert not stale.exists()
    result = sim.run(again, "Passes", 1, module="tb.fault_fixtures", run_dir=tmp_path / "run", timeout_s=120)
    assert result.passed, result.message


def test_a_killed_build_leaves_no_half_model(tmp_path):
    root = tmp_path / "cache"
    code = (
        "from asicdv.tools import simulator as sim; from asicdv.tools.blocks import get_block; "
        f"from pathlib import Path; sim.build(get_block('crc32'), build_root=Path({str(root)!r}))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, start_new_session=True)
    scratch = wait_for(lambda: list(root.glob("crc32/.*.tmp-*/*.mk")), 120, "the build to start")[0].parent
    time.sleep(1.0)  # Verilator and make are writing into it now
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    final = scratch.parent / scratch.name[1:].rsplit(".tmp-", 1)[0]
    assert not final.exists()  # nothing half-built where the cache looks
    assert sim.verify_build(final, "crc32_core") == "not built"
