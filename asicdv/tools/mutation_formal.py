"""Survivors of `asicdv mutate` decided by formal, as YosysHQ's mcy does: a miter of mutant and
original (asicdv.tools.formal.equivalence) on every variant that builds the mutated code.

- proved equivalent on each variant: status `proved_equivalent`, out of the score's denominator;
- not equivalent: the distinguishing trace is replayed through cocotb on the miter's Verilator
  build (a test that kills the mutant); its reproduce line is kept on the outcome;
- bounded (no difference within the depth, induction open) or a tool error / timeout: it stays a
  survivor, with what formal found in `formal`.

The mutated file is kept under OUT/equiv/mNNN/ so the reproduce line works after the run.
"""

from __future__ import annotations

import time
from pathlib import Path

from asicdv.tools import formal
from asicdv.tools.blocks import Block


def decide(block: Block, outcome, variants: list[str], out_dir: Path, depth: int, timeout_s: float | None) -> None:
    """Run the equivalence check of one survivor and record its verdict on the outcome."""
    start = time.monotonic()
    mutant = outcome.mutant
    folder = out_dir / "equiv" / f"m{mutant.index:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    mutated = folder / mutant.file.name
    mutated.write_bytes(mutant.apply(mutant.file.read_bytes()))
    bounds = []
    try:
        for variant in variants:
            params = dict(block.variant(variant))
            rec = formal.equivalence(
                block, mutant.file, mutated, depth=depth, params=params, out_root=folder / variant, timeout_s=timeout_s
            )
            if rec.verdict == "failed":
                command = formal.equiv_command(block.name, mutated, params)
                result = formal.equivalence_replay(block, mutant.file, mutated, rec, command, out_root=folder / variant)
                outcome.formal = "not_equivalent"
                outcome.killing_test = command
                first = (result.message or "").splitlines()
                outcome.formal_detail = (
                    f"{variant}: {first[0]}" if not result.passed and first else f"{variant}: trace did not replay"
                )
                return
            if rec.verdict == "error":
                outcome.formal = "undecided"
                outcome.formal_detail = f"{variant}: {rec.location.splitlines()[0] if rec.location else 'tool error'}"
                return
            if rec.verdict != "proved":
                bounds.append((variant, rec.depth))
        if bounds:
            outcome.formal = "bounded"
            outcome.formal_detail = "no difference within " + ", ".join(f"{d} cycles ({v})" for v, d in bounds)
        else:
            outcome.status = "proved_equivalent"
            outcome.formal = "proved"
            outcome.formal_detail = f"equivalent at the ports (miter, k-induction k={depth}) on {', '.join(variants)}"
    finally:
        outcome.formal_seconds = round(time.monotonic() - start, 1)


def describe(outcome) -> str:
    """One line for the console: what formal said about a survivor."""
    if outcome.formal == "proved":
        return f"proved equivalent ({outcome.formal_detail})"
    if outcome.formal == "not_equivalent":
        return f"not equivalent: {outcome.formal_detail}\n    killing test: {outcome.killing_test}"
    return f"{outcome.formal}: {outcome.formal_detail}"
