"""`asicdv mutate` decides its survivors by formal equivalence (a miter), on two crc32 mutants that
survive the block's tests:

- m061 `8'd0 -> 8'd1` in the byte shifter: the byte shifted in at the top is never absorbed (a word
  is at most 4 bytes, and a new word overwrites `pending`), so it is equivalent: proved, and it
  leaves the score's denominator;
- m001 `nbytes <= 3'd4 -> 3'd5`: a 5-byte `next`, outside the interface's contract, is taken by the
  mutant and ignored by the original. No test sends one, but the ports differ: the miter's
  distinguishing trace replays through cocotb and fails on `same_ready`, and its reproduce line is
  printed.

The simulation side is stubbed (both mutants reported as survivors, which a real run of the smoke
tests also gives: measured in docs/formal.md) so the test costs the two proofs and one Verilator
build of the miter, not two mutant builds.
"""

from __future__ import annotations

import json
import re

from asicdv import project
from asicdv.tools import mutation
from asicdv.tools.blocks import get_block
from asicdv.tools.cli import main

ROOT = project.current().root
SEED, COUNT = 1, 62
EQUIVALENT, DIFFERENT = 61, 1  # indices in `asicdv mutate crc32 -n 62 --seed 1`


def test_the_chosen_mutants_are_the_documented_ones():
    mutants = mutation.generate(get_block("crc32"), COUNT, SEED)
    same, differs = mutants[EQUIVALENT], mutants[DIFFERENT]
    assert (same.original, same.replacement, same.line) == ("8'd0", "8'd1", 54), same
    assert (differs.original, differs.replacement, differs.line) == ("3'd4", "3'd5", 48), differs


def test_survivors_proved_equivalent_or_given_a_killing_trace(yowasp_warm, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mutation, "baseline", lambda block, variant, tests, root, log: {"CheckValueTest": 1.0})
    monkeypatch.setattr(mutation, "run_mutant", lambda block, mutant, plan, work: mutation.Outcome(mutant, "survived"))
    out = tmp_path / "mutate"
    args = ["mutate", "crc32", "-n", str(COUNT), "--seed", str(SEED), "--only", str(DIFFERENT), str(EQUIVALENT)]
    assert main([*args, "--test", "CheckValueTest", "--out", str(out), "--equiv-depth", "8"]) == 0
    text = capsys.readouterr().out
    assert "before automatic equivalence: kill rate 0.0% (0 of 2 non-equivalent mutants)" in text
    assert re.search(r"m061-const-crc32_core.v:54 +proved equivalent", text), text
    assert re.search(r"m001-const-crc32_core.v:48 +not equivalent: default: first violation: same_ready", text), text
    killing = f"killing test: asicdv formal crc32 --equiv {out / 'equiv' / 'm001' / 'crc32_core.v'} --replay"
    assert killing in text, text
    assert "kill rate 0.0% (0 of 1 non-equivalent mutants)" in text  # m061 left the denominator

    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["proved_equivalent"] == 1 and report["counts"]["survived"] == 1
    assert (report["kill_rate_before_formal"], report["kill_rate"]) == (0.0, 0.0)
    assert report["not_equivalent_with_trace"] == 1
    by_index = {o["index"]: o for o in report["outcomes"]}
    assert by_index[EQUIVALENT]["status"] == "proved_equivalent"
    assert by_index[DIFFERENT]["formal"] == "not_equivalent" and by_index[DIFFERENT]["killing_test"]
