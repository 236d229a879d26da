"""Code coverage builds, the Icarus simulator and a mutant, each with a real simulator run on
the fixture project's slowinc block."""

import json
from pathlib import Path

from asicdv import project
from asicdv.tools import code_coverage as codecov
from asicdv.tools import mutation as mutate
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block
from asicdv.tools.coverage_run import smoke_seed

FIXTURE = project.load(Path(__file__).parent / "fixture" / "asicdv.toml")
SEED = smoke_seed("slowinc", "default", "DirectedTest")  # the seed `make test` gives it


def slowinc():
    return get_block("slowinc", FIXTURE)


def test_coverage_build_writes_coverage_dat(tmp_path):
    """A coverage build's run writes coverage.dat in its run directory; merged, the block's lines
    the directed test runs are hit and the HTML page annotates its source."""
    build = sim.build(slowinc(), coverage=True)
    assert build.coverage and "-cov-" in build.directory.name
    result = sim.run(build, "DirectedTest", SEED, run_dir=tmp_path / "run")
    assert result.passed, result.message
    assert result.coverage == tmp_path / "run" / "coverage.dat"
    figures = codecov.merge([result.coverage], tmp_path / "cov")
    assert figures["slowinc"]["line"] > 80 and figures["slowinc"]["toggle"] > 30
    page = (tmp_path / "cov" / "html" / "slowinc__slowinc.v.html").read_text()
    assert "remaining &lt;= remaining - 1" in page and 'class="hit"' in page


def test_icarus_runs_the_block(tmp_path):
    """The second simulator (4-state Icarus) builds and passes the directed test."""
    build = sim.build(slowinc(), simulator="icarus")
    assert build.simulator == "icarus" and build.executable.name == "sim.vvp"
    result = sim.run(build, "DirectedTest", SEED, run_dir=tmp_path)
    assert result.passed, result.message
    assert "Icarus" in result.log.read_text()


def test_a_dropped_data_update_is_killed(tmp_path):
    """End to end: build one mutant (the block no longer updates its output data) and check the
    directed test kills it."""
    block = slowinc()
    mutant = next(
        m for m in mutate.generate(block, 0, seed=1) if m.operator == "drop" and "out_data <= in_data" in m.original
    )
    outcome = mutate.run_mutant(block, mutant, {"default": {"DirectedTest": 30.0}}, tmp_path)
    assert outcome.status == "killed", outcome.detail
    assert outcome.killed_by == "default:DirectedTest" and outcome.tests_run == ["default:DirectedTest"]
    assert not (tmp_path / "src" / f"m{mutant.index:03d}").exists()  # its sources were cleaned up


def test_per_test_line_index_from_real_coverage(tmp_path):
    """The --coverage-from index read from a real coverage.dat: the directed test reaches the
    counter's decrement, a line that is a coverage point, with the file relative to the project."""
    from asicdv.tools import test_reach

    build = sim.build(slowinc(), coverage=True)
    run_dir = tmp_path / "runs" / "r1" / "attempt-1"
    result = sim.run(build, "DirectedTest", SEED, run_dir=run_dir)
    assert result.passed, result.message
    run = {"id": "r1", "block": "slowinc", "variant": "default", "parameters": {}, "test": "DirectedTest"}
    (tmp_path / "plan.json").write_text(
        json.dumps({"regression": "r", "commit": "c0ffee", "runs": [{**run, "coverage": True}]})
    )
    log = str(result.log.relative_to(tmp_path))
    (tmp_path / "results.jsonl").write_text(json.dumps({**run, "seed": SEED, "log": log}) + "\n")
    index = test_reach.build(tmp_path, FIXTURE.root, {"rtl/slowinc/slowinc.v"})
    reached = index["tests"]["slowinc/default/DirectedTest"]["lines"]["rtl/slowinc/slowinc.v"]
    assert 39 in reached and 39 in index["points"]["rtl/slowinc/slowinc.v"]
    assert index["commit"] == "c0ffee" and index["tests"]["slowinc/default/DirectedTest"]["seeds"] == [SEED]
