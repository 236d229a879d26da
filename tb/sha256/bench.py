"""SHA-256 core figures for `make bench` (the harness is asicdv.tools.bench): 1,000 blocks
through the cocotb service and through the native harness (native.cpp), both checked against
the model; its synthesis figures; the per-run overhead parts (its service is the trivial run)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

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


def run_overhead(ctx: bench.Context) -> dict:
    """The per-run overhead taken apart; the trivially short run is this service on one block
    (the smallest service start-up of the blocks)."""
    pair = [model.state_to_bytes(model.IV).hex(), bytes(64).hex()]

    def trivial_run() -> tuple[float, float]:
        result, _ = bench.run_cocotb("sha256", "default", {"blocks": [pair]}, ctx.seed)
        return result.wall_s, result.response["answer_wall_s"]

    return bench_run_overhead.measure(trivial_run, "sha256", "default", repeat=max(3, ctx.runs))
