"""The property tests alone catch real bugs and shrink them to the right minimal input.

Each case builds a test-only broken variant of a block (a wrapper around the real RTL in
tb/<block>/broken/, selected by its BUG parameter), runs one hypothesis test on it (no NIST
vectors, no directed test) and checks the failure: caught, and for SHA-256 shrunk to exactly
the smallest failing message. The protocol case shows block.yaml's stream rule (bound into the
simulation build, the same rule the formal harness proves) firing on a DUT whose transferred data
is still right.
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
        # block.yaml's stream rule, bound into the simulation (the formal harness's rule)
        r"assertion out_payload_stable failed at \d+ ns \(asicdv_streams_check.sv:\d+, in sha256_core_broken"
        r"\.asicdv_streams_check\): a `streams:` rule of block.yaml",
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
