"""Batched runs (asicdv.tools.run_server) on the fixture's slowinc block: runs share a simulator
server, and nothing one run does reaches the next; the same seed gives the same run batched or in
a fresh process; a crash or a hang ends only the run in flight."""

import os
from pathlib import Path

import pytest

from asicdv import project
from asicdv.tools import run_server
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block

FIXTURE = project.load(Path(__file__).parent / "fixture" / "asicdv.toml")
ISOLATION = "verif.slowinc.isolation_tests"


@pytest.fixture
def build():
    run_server.close_idle()  # this thread's servers start fresh
    yield sim.build(get_block("slowinc", FIXTURE))
    run_server.close_idle()


def _fingerprint(build, seed, run_dir):
    result = sim.run(build, "FingerprintTest", seed, module=ISOLATION, run_dir=run_dir)
    assert result.passed, result.message
    return result.response


def _poison(build, seed, run_dir):
    result = sim.run(build, "PoisonTest", seed, module=ISOLATION, run_dir=run_dir)
    assert result.passed, result.message


def test_a_run_starts_from_the_same_state_batched_or_alone(build, tmp_path, monkeypatch):
    batched = {}
    for seed in (5, 6):
        _poison(build, 100 + seed, tmp_path / f"poison-{seed}")
        batched[seed] = _fingerprint(build, seed, tmp_path / f"batched-{seed}")
    servers = {response.pop("server") for response in batched.values()}
    assert len(servers) == 1, "the runs of one thread and build share one server"

    monkeypatch.setenv("ASICDV_BATCH", "0")
    alone = {seed: _fingerprint(build, seed, tmp_path / f"alone-{seed}") for seed in (5, 6)}
    assert {response.pop("server") for response in alone.values()}.isdisjoint(servers)

    assert batched == alone  # power-up values, stimulus, module state, the DUT's answer
    assert batched[5]["module_state"] is None, "a test module's state leaked from an earlier run"
    assert batched[5]["seed_at_import"] == "5", "the test module was imported before the run's environment"
    # Registers without a reset start from the seed's values, as in a fresh process.
    assert batched[5]["before_reset"] != batched[6]["before_reset"]
    assert batched[5]["draws"] != batched[6]["draws"]


def test_a_crash_or_a_hang_ends_only_the_run_in_flight(build, tmp_path):
    first = _fingerprint(build, 7, tmp_path / "first")
    crash = sim.run(build, "CrashTest", 1, module=ISOLATION, run_dir=tmp_path / "crash")
    assert not crash.passed and "crash?" in crash.message and "-11" in crash.message, crash.message
    hang = sim.run(build, "HangTest", 1, module=ISOLATION, run_dir=tmp_path / "hang", timeout_s=3)
    assert not hang.passed and "hung: killed after 3 s" in hang.message, hang.message
    after = _fingerprint(build, 7, tmp_path / "after")
    assert after == first  # the same server (its pid is in the response) and the same run
    assert not os.path.exists(f"/proc/{first['server']}/status") or _children(first["server"]) == []


def test_a_dead_server_is_replaced(build, tmp_path):
    first = _fingerprint(build, 8, tmp_path / "first")
    os.kill(first["server"], 9)
    after = _fingerprint(build, 8, tmp_path / "after")
    assert after.pop("server") != first.pop("server")
    assert after == first


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found = []
    for task in tasks.iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_each_batched_run_writes_its_own_code_coverage(tmp_path, monkeypatch):
    run_server.close_idle()
    build = sim.build(get_block("slowinc", FIXTURE), coverage=True)
    other = sim.run(build, "StallsTest", 3, run_dir=tmp_path / "other")  # the server's first run
    batched = sim.run(build, "DirectedTest", 1, run_dir=tmp_path / "batched")
    monkeypatch.setenv("ASICDV_BATCH", "0")
    alone = sim.run(build, "DirectedTest", 1, run_dir=tmp_path / "alone")
    run_server.close_idle()
    assert other.passed and batched.passed and alone.passed
    assert batched.coverage.read_bytes() == alone.coverage.read_bytes()
    assert batched.coverage.read_bytes() != other.coverage.read_bytes()


def test_a_coverage_run_starts_at_zero_batched_or_alone(tmp_path, monkeypatch):
    """Coverage builds run with +verilator+rand+reset+0: their server's model (and its coverage
    points) serves every run as it is, so a run starts from zeros batched or alone, its Python
    draws still its seed's."""
    run_server.close_idle()
    build = sim.build(get_block("slowinc", FIXTURE), coverage=True)
    batched = {}
    for seed in (5, 6):
        _poison(build, 100 + seed, tmp_path / f"poison-{seed}")
        batched[seed] = _fingerprint(build, seed, tmp_path / f"batched-{seed}")
    monkeypatch.setenv("ASICDV_BATCH", "0")
    alone = {seed: _fingerprint(build, seed, tmp_path / f"alone-{seed}") for seed in (5, 6)}
    run_server.close_idle()
    for response in (*batched.values(), *alone.values()):
        response.pop("server")
    assert batched == alone
    assert batched[5]["before_reset"] == batched[6]["before_reset"] == {"out_data": 0, "remaining": 0}
    assert batched[5]["draws"] != batched[6]["draws"]
