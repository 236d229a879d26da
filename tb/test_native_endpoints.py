"""The native engine against the Python endpoints on this chip's blocks: the same stimulus
either way, and the sha256 service's blocks against the model both ways."""

import re

from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block

NATIVE_OFF = {"ASICDV_NATIVE": "0"}  # the pure-Python clock and endpoints


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


def test_stalled_endpoints_run_the_same_cycles_natively_and_in_python(tmp_path):
    """Back-pressure tests (seeded pauses on every stream) through the engine and through the
    Python endpoints: both pass with the same examples (fingerprint, where hypothesis draws them),
    the same simulated time (the same cycles) and the same functional coverage. The miner's job
    source has no pauses, so there only the coverage must agree (docs/native-engine.md)."""
    for block, variant, test, same_cycles in (
        ("sha256", "default", "BackPressureTest", True),
        ("kpu", "default", "DepthwiseBackPressureTest", True),
        ("kpu", "default", "PoolBackPressureTest", True),
        ("sha256d", "pipelined", "BackPressureTest", False),
    ):
        build = sim.build(get_block(block), variant)
        runs = [
            sim.run(build, test, 5, run_dir=tmp_path / f"{block}-{test}-{name}", extra_env=env)
            for name, env in (("native", {}), ("python", NATIVE_OFF))
        ]
        assert all(r.passed for r in runs), [r.message for r in runs]
        logs = [r.log.read_text() for r in runs]
        prints = [re.findall(r"stimulus fingerprint (\w+)", log) for log in logs]
        coverage = [re.search(r"functional coverage: .*", log).group(0) for log in logs]
        assert prints[0] == prints[1] and coverage[0] == coverage[1], (block, test, prints, coverage)
        if same_cycles:
            assert runs[0].sim_time_ns == runs[1].sim_time_ns, (block, test, [r.sim_time_ns for r in runs])


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
