"""The simulation runner with a real simulator: build cache, hangs, crashes."""

import re
import time

from asicdv import sim
from asicdv.blocks import get_block

FIXTURES = "tb.sim_fixtures"


def test_build_is_cached_and_keyed_by_flags():
    block = get_block("sha256")
    first = sim.build(block)
    again = sim.build(block)
    assert again.directory == first.directory and again.seconds == 0.0
    assert sim._build_key(block, "default", waves=True) != sim._build_key(block, "default", waves=False)


def test_hung_simulation_is_killed_and_reported(tmp_path):
    build = sim.build(get_block("sha256"))
    start = time.monotonic()
    result = sim.run(build, "Hangs", 1, module=FIXTURES, run_dir=tmp_path, timeout_s=5)
    assert time.monotonic() - start < 30
    assert not result.passed and "hung" in result.message and result.log.exists()


def test_crashed_simulation_is_a_failure_with_its_log(tmp_path):
    result = sim.run(sim.build(get_block("sha256")), "Crashes", 1, module=FIXTURES, run_dir=tmp_path)
    assert not result.passed and "crash" in result.message


def test_failing_assertion_message_reaches_the_result(tmp_path):
    result = sim.run(sim.build(get_block("sha256")), "FailsAnAssertion", 1, module=FIXTURES, run_dir=tmp_path)
    assert not result.passed and "0x1234 != 0x1235" in result.message


def test_waves_build_writes_a_waveform(tmp_path):
    from asicdv import toolchain

    build = sim.build(get_block("sha256"), waves=True)
    result = sim.run(build, "FipsExamplesTest", 3, run_dir=tmp_path)
    assert result.passed, result.message
    assert result.waves == tmp_path / f"dump.{toolchain.waveform_format()}"
    assert result.waves.stat().st_size > 1000


def test_same_seed_same_stimulus(tmp_path):
    """Hypothesis and the test's RNG both follow the run seed: equal seeds, equal runs."""
    build = sim.build(get_block("sha256"))
    runs = [sim.run(build, "RandomMessagesTest", seed, run_dir=tmp_path / f"{i}") for i, seed in enumerate((5, 5, 6))]
    assert all(r.passed for r in runs), [r.message for r in runs]
    prints = [re.search(r"stimulus fingerprint (\w+)", r.log.read_text()).group(1) for r in runs]
    assert prints[0] == prints[1] != prints[2]
    assert runs[0].sim_time_ns == runs[1].sim_time_ns
