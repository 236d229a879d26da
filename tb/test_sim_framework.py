"""The simulation runner with a real simulator: build cache, hangs, crashes."""

import re
import time

from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block

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
    from asicdv.tools import toolchain

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


NATIVE_OFF = {"ASICDV_NATIVE": "0"}  # the pure-Python clock and endpoints


def test_native_clock_keeps_cocotbs_edge_times(tmp_path):
    build = sim.build(get_block("sha256"))
    logs = []
    for name, env in (("native", {}), ("gpi", NATIVE_OFF)):
        result = sim.run(build, "ClockEdges", 1, module=FIXTURES, run_dir=tmp_path / name, extra_env=env)
        assert result.passed, result.message
        logs.append(re.search(r"edges \[.*\] timer \S+ clk \d", result.log.read_text()).group(0))
    assert logs[0] == logs[1] == "edges [0.0, 10.0, 20.0] timer 43.0 clk 1", logs


def test_native_checker_reports_protocol_violations(tmp_path):
    result = sim.run(
        sim.build(get_block("sha256")), "NativeCheckerSeesViolations", 1, module=FIXTURES, run_dir=tmp_path
    )
    assert result.passed, result.message


def test_native_and_python_endpoints_run_the_same_stimulus(tmp_path):
    """The same seed through the native engine and through the Python endpoints: both pass,
    with the same stimulus (hypothesis's fingerprint); only the timing of bubbles may differ."""
    for block, variant, test in (
        ("sha256", "default", "RandomMessagesTest"),
        ("kpu", "default", "RandomGemmTest"),
        ("sha256d", "pipelined", "RandomJobsTest"),
    ):
        build = sim.build(get_block(block), variant)
        runs = [
            sim.run(build, test, 7, run_dir=tmp_path / f"{block}-{name}", extra_env=env)
            for name, env in (("native", {}), ("python", NATIVE_OFF))
        ]
        assert all(r.passed for r in runs), [r.message for r in runs]
        prints = [re.search(r"stimulus fingerprint (\w+)", r.log.read_text()).group(1) for r in runs]
        assert prints[0] == prints[1], (block, prints)


def test_sha256_service_blocks_match_the_model_both_ways():
    """The bench's back-to-back blocks, natively and through Python, against models.sha256."""
    import random

    from asicdv.tools import service_client as rtl
    from models import sha256 as model

    rng = random.Random(3)
    pairs = [(tuple(rng.getrandbits(32) for _ in range(8)), rng.randbytes(64)) for _ in range(20)]
    request = {"blocks": [[model.state_to_bytes(c).hex(), b.hex()] for c, b in pairs]}
    want = [model.state_to_bytes(model.compress(c, b)).hex() for c, b in pairs]
    assert rtl.ask("sha256", request)["digests"] == want
    assert rtl.ask("sha256", request, extra_env=NATIVE_OFF)["digests"] == want
