"""Formal beside simulation (asicdv formal): the quick subset that `make test` runs.

On a test-only broken copy of the real result FIFO (its pointers wrap at 2**AW instead of at
DEPTH, right for powers of two only) the proof fails at FIFO_DEPTH = 3 with a counterexample,
while the same bug is invisible at the default FIFO_DEPTH = 8 to both the proof and the miner's
simulation suite; the counterexample replays through cocotb on the Verilator build of the same
harness and fails there at the same cycle with the same assertion.

The first call of a yowasp tool compiles Yosys's WebAssembly (about 40 s on 2 cores, cached in
~/.cache/YoWASP afterwards): the session fixture pays it once, under a lock, for all workers.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from asicdv import project
from asicdv.tools import formal
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block

ROOT = project.current().root

WRAP = "({p} == LAST) ? {{AW{{1'b0}}}} : {p} + 1'b1"


def fifo_task():
    block = get_block("sha256d")
    return block, next(t for t in formal.load_tasks(block) if t.name == "fifo")


def broken_fifo(directory: Path) -> Path:
    """The real FIFO with both pointers wrapping at 2**AW (a natural binary wrap) instead of DEPTH."""
    text = (ROOT / "rtl" / "sha256d" / "sha256d_fifo.v").read_text()
    for ptr in ("wr_ptr", "rd_ptr"):
        wrap = WRAP.format(p=ptr)
        assert wrap in text, f"the FIFO's {ptr} wrap changed; update this broken variant"
        text = text.replace(wrap, f"{ptr} + 1'b1")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "sha256d_fifo.v"  # same file and module name: it replaces the real one
    path.write_text(text)
    return path


def test_fifo_proved_at_a_depth_that_is_not_a_power_of_two(yowasp_warm, tmp_path):
    block, task = fifo_task()
    records = formal.run_task(block, task, None, {"FIFO_DEPTH": 5}, out_root=tmp_path)
    verdicts = {r.property: r.verdict for r in records}
    assert {"full_exact", "rd_valid_exact", "head_in_order", "inv_entries"} <= set(verdicts)
    assert set(verdicts.values()) == {"proved"}, verdicts


def test_formal_catches_a_wrap_bug_simulation_misses_and_it_replays(yowasp_warm):
    block, task = fifo_task()
    out = ROOT / "results" / "formal-tests" / "fifo_wrap"
    bad = broken_fifo(out / "rtl")
    sources = (bad, *task.sources[1:])

    # At a power of two the natural wrap is right: the proof closes on the broken copy too.
    at8 = formal.run_task(block, task, None, {"FIFO_DEPTH": 8}, out_root=out, sources=sources)
    assert {r.verdict for r in at8} == {"proved"}, [(r.property, r.verdict) for r in at8]

    # At 3 it is not: induction fails, the follow-up BMC finds a real counterexample.
    at3 = formal.run_task(block, task, None, {"FIFO_DEPTH": 3}, out_root=out, sources=sources)
    failed = [r for r in at3 if r.verdict == "failed"]
    assert failed, [(r.property, r.verdict, r.depth) for r in at3]
    first = failed[0]
    assert first.counterexample and (ROOT / first.counterexample).is_file()
    assert first.depth >= 4  # pointer 3 needs three writes after the reset
    formal.write_results(at3, out / "results.json")
    assert any(r["verdict"] == "failed" for r in json.loads((out / "results.json").read_text()))

    # The counterexample replays as a failing cocotb test, same assertion, same cycle.
    result = formal.replay(first, sources=sources, run_dir=out / "replay")
    assert not result.passed, result.message
    m = re.search(r"first violation: (\w+) \(.*\) at cycle (\d+)", result.message)
    assert m, result.message
    assert m.group(1) in {r.property for r in failed}
    assert int(m.group(2)) == first.depth
    assert "reproduce: asicdv formal sha256d --task fifo --param FIFO_DEPTH=3 --replay" in result.message
    # the replay's own waves, dumped up to the half period before the violating edge
    assert f"\n  waves {result.waves}" in result.message
    violation_ps = 1000 * float(re.search(r"at cycle \d+ \(([\d.]+) ns\)", result.message).group(1))
    if result.waves.suffix == ".vcd":  # (FST, when liblz4 is installed, is binary)
        last_ps = max(int(line[1:]) for line in result.waves.read_text().splitlines() if line.startswith("#"))
        assert violation_ps - 5000 <= last_ps <= violation_ps, (last_ps, violation_ps)
    assert result.waves.stat().st_size > 0


def test_miner_suite_misses_the_wrap_bug_at_its_default_depth():
    """The simulation side of the case above: the miner built with the broken FIFO passes its
    FIFO stress test at the default FIFO_DEPTH = 8, the only depth its suite runs."""
    block = get_block("sha256d")
    bad = broken_fifo(ROOT / "results" / "formal-tests" / "fifo_wrap_sim" / "rtl")
    sources = tuple(bad if s.name == "sha256d_fifo.v" else s for s in block.sources)
    assert bad in sources
    broken = dataclasses.replace(block, sources=sources)
    result = sim.run(
        sim.build(broken, "iterative"),
        "BackPressureTest",
        1,
        run_dir=ROOT / "results" / "formal-tests" / "fifo_wrap_sim" / "run",
    )
    assert result.passed, result.message


def crc32_mutant(directory: Path, old: str, new: str) -> Path:
    text = (ROOT / "rtl" / "crc32" / "crc32_core.v").read_text()
    assert old in text, f"crc32_core.v changed: {old!r} is gone; update this mutant"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "crc32_core.v"
    path.write_text(text.replace(old, new))
    return path


def test_mutant_equivalence_by_miter(yowasp_warm):
    """A const mutant `asicdv mutate` makes (8'd0 -> 8'd1 in the byte shifter) survives every
    suite because the shifted-in byte is never absorbed: the miter proves it equivalent. A
    non-equivalent one (the countdown by 2) gets a distinguishing trace a few cycles after reset."""
    block = get_block("crc32")
    original = ROOT / "rtl" / "crc32" / "crc32_core.v"
    out = ROOT / "results" / "formal-tests" / "equiv"
    same = crc32_mutant(out / "m_eq", "pending   <= {8'd0, pending[31:8]};", "pending   <= {8'd1, pending[31:8]};")
    rec = formal.equivalence(block, original, same, depth=8, out_root=out / "eq")
    assert rec.verdict == "proved", rec
    differs = crc32_mutant(out / "m_neq", "remaining <= remaining - 3'd1;", "remaining <= remaining - 3'd2;")
    rec = formal.equivalence(block, original, differs, depth=8, out_root=out / "neq")
    assert rec.verdict == "failed", rec
    assert rec.counterexample and (ROOT / rec.counterexample).is_file()
    assert rec.depth <= 8


def broken_copy(directory: Path, rel: str, old: str, new: str) -> Path:
    text = (ROOT / rel).read_text()
    assert old in text, f"{rel} changed: {old!r} is gone; update this broken variant"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / Path(rel).name
    path.write_text(text.replace(old, new))
    return path


def test_tapped_properties_catch_control_bugs(yowasp_warm):
    """The taps (DUT registers the properties read) are real: a KPU whose op_ready ignores the
    draining buffer fails no_overwrite; a miner whose nonce walk skips fails issue_next, and only
    that (a tap read wrongly would fail properties of the first item as well)."""
    out = ROOT / "results" / "formal-tests" / "taps"
    kpu = get_block("kpu")
    control = next(t for t in formal.load_tasks(kpu) if t.name == "control")
    top = broken_copy(
        out / "kpu",
        "rtl/kpu/kpu_top.v",
        "assign op_ready = !(op_last && d_busy && !d_done);",
        "assign op_ready = 1'b1;",
    )
    srcs = (top, *control.sources[1:])
    recs = formal.run_task(kpu, control, None, {"ROWS": 2, "COLS": 1}, depth=6, out_root=out, sources=srcs)
    assert {r.property for r in recs if r.verdict == "failed"} == {"no_overwrite"}, [
        (r.property, r.verdict) for r in recs
    ]

    miner = get_block("sha256d")
    walk = next(t for t in formal.load_tasks(miner) if t.name == "walk")
    step2 = broken_copy(
        out / "miner",
        "rtl/sha256d/sha256d_miner.v",
        "if (cur_nonce != nonce_end_q) cur_nonce <= cur_nonce + 32'd1;",
        "if (cur_nonce != nonce_end_q) cur_nonce <= cur_nonce + 32'd2;",
    )
    srcs = (step2, *walk.sources[1:])
    params = {"PIPELINED": 0, "FIFO_DEPTH": 1}
    recs = formal.run_task(miner, walk, "iterative", params, depth=5, out_root=out, sources=srcs)
    assert {r.property for r in recs if r.verdict == "failed"} == {"issue_next"}, [
        (r.property, r.verdict) for r in recs
    ]
