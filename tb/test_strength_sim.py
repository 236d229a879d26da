"""Code coverage builds, the Icarus simulator and a mutant, each with a real simulator run."""

from asicdv.tools import code_coverage as codecov
from asicdv.tools import mutation as mutate
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block
from asicdv.tools.coverage_run import smoke_seed

FIPS_SEED = smoke_seed("sha256", "default", "FipsExamplesTest")  # the seed `make test` gives it


def test_coverage_build_of_the_core_writes_coverage_dat(tmp_path):
    """A coverage build's run writes coverage.dat in its run directory; merged, the core's lines
    the FIPS examples run are hit and the HTML page annotates its source."""
    build = sim.build(get_block("sha256"), coverage=True)
    assert build.coverage and "-cov-" in build.directory.name
    result = sim.run(build, "FipsExamplesTest", FIPS_SEED, run_dir=tmp_path / "run")
    assert result.passed, result.message
    assert result.coverage == tmp_path / "run" / "coverage.dat"
    figures = codecov.merge([result.coverage], tmp_path / "cov")
    assert figures["sha256"]["line"] > 80 and figures["sha256"]["toggle"] > 50
    page = (tmp_path / "cov" / "html" / "sha256__sha256_core.v.html").read_text()
    assert "phase &lt;= ROUNDS" in page and 'class="hit"' in page


def test_icarus_runs_the_core(tmp_path):
    """The second simulator (4-state Icarus) builds and passes the FIPS examples."""
    build = sim.build(get_block("sha256"), simulator="icarus")
    assert build.simulator == "icarus" and build.executable.name == "sim.vvp"
    result = sim.run(build, "FipsExamplesTest", FIPS_SEED, run_dir=tmp_path)
    assert result.passed, result.message
    assert "Icarus" in result.log.read_text()


def test_a_dropped_round_update_is_killed(tmp_path):
    """End to end: build one mutant of the core (the round no longer updates the working state)
    and check the FIPS examples test kills it."""
    block = get_block("sha256")
    mutant = next(
        m
        for m in mutate.generate(block, 0, seed=1)
        if m.operator == "drop" and m.file.name == "sha256_core.v" and "working_next" in m.original
    )
    outcome = mutate.run_mutant(block, mutant, {"default": {"FipsExamplesTest": 30.0}}, tmp_path)
    assert outcome.status == "killed", outcome.detail
    assert outcome.killed_by == "default:FipsExamplesTest" and outcome.tests_run == ["default:FipsExamplesTest"]
    assert not (tmp_path / "src" / f"m{mutant.index:03d}").exists()  # its sources were cleaned up
