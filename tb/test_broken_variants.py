"""The property tests alone catch real bugs and shrink them to the right minimal input.

Each case builds a test-only broken variant of a block (a wrapper around the real RTL in
tb/<block>/broken/, selected by its BUG parameter), runs one hypothesis test on it (no NIST
vectors, no directed test) and checks the failure: caught, and for SHA-256 shrunk to exactly
the smallest failing message. The protocol case shows the valid/ready checker firing on a DUT
whose transferred data is still right, and, on a code-coverage build, block.yaml's stream rule
bound into the simulation (the rule the formal harness proves) firing first.
"""

import dataclasses
import re

import pytest

from asicdv import project
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block

ROOT = project.current().root

CASES = {
    # id: (block, wrapper top, variant, BUG, test, what the failure must say)
    "sha256 chaining": (
        "sha256",
        "sha256_core_broken",
        "default",
        1,
        "RandomMessagesTest",
        r"minimal input message (00){56} \(56 bytes\)",
    ),
    # The NIST vector tests hash their messages open loop (a block's chain from the model): the
    # block scoreboard catches a core that ignores the chain at the first two-block message's
    # second block (ShortMsg's vectors of 0..55 bytes are blocks 0..55; 56 bytes: 56 and 57).
    "sha256 chaining, vectors open loop": (
        "sha256",
        "sha256_core_broken",
        "default",
        1,
        "NistShortMsgTest",
        r"^\d+ error\(s\); first: uvm_test_top\.env\.block_sb transaction 57 \(input \{chain: 0x",
    ),
    "sha256 one length": (
        "sha256",
        "sha256_core_broken",
        "default",
        2,
        "RandomMessagesTest",
        r"minimal input message (00){32}\.\.\. \(119 bytes\)",
    ),
    "sha256 protocol": (
        "sha256",
        "sha256_core_broken",
        "default",
        3,
        "BackPressureTest",
        r"out valid/ready protocol: out payload changed while stalled",
    ),
    "sha256d midstate 3": (
        "sha256d",
        "sha256d_miner_broken",
        "iterative",
        1,
        "RandomJobsTest",
        r"minimal input job \d+: 4 midstate\(s\)",
    ),
    "sha256d last nonce": (
        "sha256d",
        "sha256d_miner_broken",
        "iterative",
        2,
        "RandomJobsTest",
        r"minimal input job \d+: \d midstate\(s\), nonces 0x[0-9a-f]+\.\.0xffffffff",
    ),
    "kpu saturation": ("kpu", "kpu_top_broken", "default", 1, "RandomGemmTest", r"minimal input gemm M=\d+"),
}


@pytest.mark.parametrize("case", CASES)
def test_property_catches_broken_variant(case):
    block_name, top, variant, bug, test, expected = CASES[case]
    block = get_block(block_name)
    wrapper = ROOT / "tb" / block_name / "broken" / f"{top}.v"
    broken = dataclasses.replace(
        block, top=top, sources=(*block.sources, wrapper), variants={variant: {**block.variant(variant), "BUG": bug}}
    )
    result = sim.run(
        sim.build(broken, variant), test, 1, run_dir=project.current().results / "broken" / case.replace(" ", "_")
    )
    assert not result.passed, f"{case}: the broken variant passed {test}; log {result.log}"
    assert re.search(expected, result.message), f"{case}: unexpected failure:\n{result.message[:2000]}"


def test_the_bound_stream_rule_fires_on_a_coverage_build():
    """A code-coverage build binds block.yaml's stream rules into the DUT (formal.streams_checker):
    the broken sha256 core's digest changing while stalled stops the run at that rule."""
    block = get_block("sha256")
    wrapper = ROOT / "tb" / "sha256" / "broken" / "sha256_core_broken.v"
    broken = dataclasses.replace(
        block,
        top="sha256_core_broken",
        sources=(*block.sources, wrapper),
        variants={"default": {**block.variant("default"), "BUG": 3}},
    )
    build = sim.build(broken, "default", coverage=True)
    result = sim.run(build, "BackPressureTest", 1, run_dir=project.current().results / "broken" / "sha256_bound_rule")
    assert not result.passed
    assert re.search(
        r"assertion out_payload_stable failed at \d+ ns \(asicdv_streams_check.sv:\d+, in "
        r"sha256_core_broken\.asicdv_streams_check\): a `streams:` rule of block.yaml",
        result.message,
    ), result.message
