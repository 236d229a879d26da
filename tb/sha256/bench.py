"""SHA-256 core figures for `make bench` (the harness is asicdv.tools.bench): 1,000 blocks
through the cocotb service and through the native harness (native.cpp), both checked against
the model; hypothesis through the core against the same property on the model alone; its
synthesis figures; the per-run overhead parts (its service is the trivial run)."""

from __future__ import annotations

import hashlib
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

from asicdv import project
from asicdv.testbench.property_rate import PropertyRate, parse_rates
from asicdv.tools import bench, bench_run_overhead
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block
from models import sha256 as model

NATIVE = Path(__file__).with_name("native.cpp")
SYNTHESIS = [{"variant": "default", "top": "sha256_core", "params": {}, "sources": "rtl/sha256/*.v"}]


def overhead(ctx: bench.Context) -> list[dict]:
    """1,000 blocks through the core: one 63,991-byte message (1,000 blocks once padded)."""
    message = ctx.rng.randbytes(64 * 1000 - 9)
    blocks = model.blocks(message)
    assert len(blocks) == 1000
    chains, chain = [], model.IV
    for block in blocks:
        chains.append(chain)
        chain = model.compress(chain, block)
    expected = hashlib.sha256(message).digest()
    words = []
    for c, b in zip(chains, blocks, strict=True):
        words += bench.int_words(int.from_bytes(model.state_to_bytes(c), "big"), 8)
        words += bench.int_words(int.from_bytes(b, "big"), 16)
    executables = bench.native_builds(sim.build(get_block("sha256")), NATIVE)
    want = [model.compress(c, b) for c, b in zip(chains, blocks, strict=True)]

    def native(exe):
        info, out, wall = bench.run_native(exe, np.array(words, dtype=np.uint32))
        got = [model.bytes_to_state(bench.words_int(d).to_bytes(32, "big")) for d in out.reshape(-1, 8)]
        if got != want or model.state_to_bytes(got[-1]) != expected:
            raise RuntimeError(f"native sha256 harness ({exe.parent.name}): digest mismatch")
        return info, wall

    # The same 1,000 (chain, block) pairs as the native harness, back to back; every digest is
    # compared with the model, and the last with hashlib.
    pairs = [[model.state_to_bytes(c).hex(), b.hex()] for c, b in zip(chains, blocks, strict=True)]

    def cocotb():
        result, cycles = bench.run_cocotb("sha256", "default", {"blocks": pairs}, ctx.seed)
        got = [model.bytes_to_state(bytes.fromhex(d)) for d in result.response["digests"]]
        if got != want or model.state_to_bytes(got[-1]) != expected:
            raise RuntimeError("cocotb sha256: digest mismatch")
        return cycles, result.wall_s, result.response["answer_wall_s"]

    def startup():
        return bench.run_cocotb("sha256", "default", {"blocks": pairs[:1]}, ctx.seed)[0].wall_s

    return [bench.side_by_side("sha256: 1,000 blocks", ctx.runs, cocotb, native, startup, executables)]


PROPERTY = "RandomMessagesTest"
GOAL_PROPERTY_RATIO = 0.8  # issue 18: hypothesis through the core >= 0.8x the model alone


def property_through_dut(seed: int) -> PropertyRate:
    """RandomMessagesTest in one simulation; its logged rate (the property alone, start-up excluded)."""
    run_dir = project.current().results / "bench" / "sha256" / "property" / str(seed)
    result = sim.run(sim.build(get_block("sha256")), PROPERTY, seed, run_dir=run_dir)
    if not result.passed:
        raise RuntimeError(f"sha256 {PROPERTY} failed: {result.message}\nlog: {result.log}")
    (rate,) = [r for r in parse_rates(result.log.read_text()) if r.name == PROPERTY]
    return rate


def property_on_model(seed: int) -> PropertyRate:
    """The same property against the model alone (tb.sha256.model_property), in a fresh process too."""
    out = subprocess.run(
        [sys.executable, "-m", "tb.sha256.model_property", "--seed", str(seed)],
        cwd=project.current().root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (rate,) = [r for r in parse_rates(out) if r.name == PROPERTY]
    return rate


def property_rates(seeds: list[int]) -> dict:
    """Examples/s through the DUT and on the model alone, one run of each per seed, interleaved so
    both see the same machine load; medians, their ratio, the goal and the verdict."""
    dut, alone = [], []
    for seed in seeds:
        dut.append(property_through_dut(seed).examples_per_s)
        alone.append(property_on_model(seed).examples_per_s)
    ratio = statistics.median(dut) / statistics.median(alone)
    return {
        "property": f"sha256 {PROPERTY}, {len(seeds)} seeds",
        "dut_examples_per_s": dut,
        "model_examples_per_s": alone,
        "ratio": round(ratio, 3),
        "goal": GOAL_PROPERTY_RATIO,
        "verdict": "met" if ratio >= GOAL_PROPERTY_RATIO else "not met",
    }


def run(report) -> None:
    figures = property_rates(seeds=[1, 2, 3, 4, 5])
    report(
        f"hypothesis through the core, {PROPERTY} (median of 5 seeds)",
        statistics.median(figures["dut_examples_per_s"]),
        "examples/s",
    )
    report(
        "the same property on models.sha256 alone (median)",
        statistics.median(figures["model_examples_per_s"]),
        "examples/s",
    )
    report(
        f"through the core, % of the model alone (goal >= {100 * GOAL_PROPERTY_RATIO:.0f}%: {figures['verdict']})",
        100 * figures["ratio"],
        "%",
    )


def run_overhead(ctx: bench.Context) -> dict:
    """The per-run overhead taken apart; the trivially short run is this service on one block
    (the smallest service start-up of the blocks)."""
    pair = [model.state_to_bytes(model.IV).hex(), bytes(64).hex()]

    def trivial_run(batched: bool) -> tuple[float, float]:
        with bench_run_overhead.batching(batched):
            result, _ = bench.run_cocotb("sha256", "default", {"blocks": [pair]}, ctx.seed)
        return result.wall_s, result.response["answer_wall_s"]

    return bench_run_overhead.measure(trivial_run, "sha256", "default", repeat=max(3, ctx.runs))
