"""A reachable coverage bin's witness as a directed test that fills the bin (`asicdv formal --fill`):
crc32's `last_word_bytes` bins, each reached by the reach task (k-induction, about 3 s a bin), then
each witness replayed through cocotb on Verilator. What the fill test's coverage.json must say is
computed apart from the simulation: the bin conditions of formal.yaml in Python, on the witness's
inputs (.yw) and the `ready` the solver's own trace (.vcd) gives. A witness cut before the hit,
and one whose byte count was changed, must not fill the bin (a regression row that fails, and
the gate with it)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from asicdv import project
from asicdv.tools import formal, gate
from asicdv.tools.blocks import get_block
from asicdv.tools.cli import main
from asicdv.tools.regress import formal_entries

ROOT = project.current().root
POINT = "crc32.message.last_word_bytes"


@pytest.fixture(scope="module")
def reach(yowasp_warm, tmp_path_factory) -> tuple[Path, dict[str, formal.Record]]:
    """The real bins task proved into a scratch folder, plus a test-only bin that cannot be hit
    (`crc_valid && !ready`, proved unreachable in tb/test_formal_regress.py too)."""
    block = get_block("crc32")
    task = next(t for t in formal.load_tasks(block) if t.name == "bins")
    task = dataclasses.replace(task, bins={**task.bins, "test.valid": {"while_busy": "crc_valid && !ready"}})
    out = tmp_path_factory.mktemp("fill")
    records = formal.run_task(block, task, None, {}, out_root=out)
    return out, {r.property: r for r in records}


def vcd_values(path: Path, name: str) -> list[int]:
    """A top-level signal of smtbmc's trace, per step (step k at time 10k)."""
    ids, values, state, time = {}, [], {}, None
    depth = 0
    for line in path.read_text().splitlines():
        words = line.split()
        if words[:1] == ["$scope"]:
            depth += 1
        elif words[:1] == ["$upscope"]:
            depth -= 1
        elif words[:1] == ["$var"] and depth == 1:
            ids[words[3]] = words[4]
        elif line.startswith("#"):
            if time is not None and time % 10 == 0:
                values.append(state.get(name, 0))
            time = int(line[1:])
        elif line.startswith("b") and len(words) == 2 and words[1] in ids:
            state[ids[words[1]]] = int(words[0][1:], 2)
    if time is not None and time % 10 == 0:
        values.append(state.get(name, 0))
    return values


def expected_hits(witness: Path, vcd: Path) -> dict[str, int]:
    """How often each `last_word_bytes` bin's condition (`next && ready && nbytes == N`, outside
    reset: after step 0 and rst_n high) holds along the witness. `ready` is registered (remaining ==
    0), so the solver's value at step k does not depend on step k's inputs (the doctored ones)."""
    _, steps = formal.read_witness(witness)
    ready = vcd_values(vcd, "ready")
    hits = {str(n): 0 for n in range(1, 5)}
    for k, step in enumerate(steps):
        if k >= 1 and step["rst_n"] and step["next"] and ready[k] and str(step["nbytes"]) in hits:
            hits[str(step["nbytes"])] += 1
    return hits


def coverage_of(result) -> dict[str, dict[str, int]]:
    return json.loads((result.run_dir / "coverage.json").read_text())


def set_input(witness: Path, out: Path, name: str, step: int, value: int, keep: int | None = None) -> Path:
    """A copy of a .yw witness with one input changed at one step (and only `keep` steps kept)."""
    data = json.loads(witness.read_text())
    pos = 0
    for sig in data["signals"]:
        if sig["init_only"] and step > 0:
            continue
        if sig["path"] == [f"\\{name}"]:
            bits = list(data["steps"][step]["bits"][::-1])  # the first signal's bit 0 is the last character
            bits[pos : pos + sig["width"]] = format(value, f"0{sig['width']}b")[::-1]
            data["steps"][step]["bits"] = "".join(bits)[::-1]
            break
        pos += sig["width"]
    else:
        raise AssertionError(f"no input {name} in {witness}")
    data["steps"] = data["steps"][:keep]
    out.write_text(json.dumps(data))
    return out


def test_each_reachable_bin_is_filled_by_its_own_witness_in_simulation(reach):
    out, records = reach
    assert records["test.valid[while_busy]"].verdict == "unreachable"
    for n in range(1, 5):
        record = records[f"{POINT}[{n}]"]
        assert record.verdict == "reachable", record
        result = formal.fill(record, out_root=out)
        assert result.passed, result.message
        hits = coverage_of(result)
        expected = expected_hits(ROOT / record.counterexample, ROOT / record.waves)
        assert expected[str(n)] >= 1, expected  # the witness reaches its bin (by the condition in Python)
        assert hits[POINT] == expected, (n, hits)
        assert set(hits) == {POINT, "crc32.message.length"}  # the block's coverage, as its own tests write it
        assert sum(hits["crc32.message.length"].values()) == 0


def test_a_witness_cut_before_the_hit_or_changed_does_not_fill_the_bin(reach, tmp_path):
    out, records = reach
    record = records[f"{POINT}[1]"]
    witness = ROOT / record.counterexample
    _, steps = formal.read_witness(witness)
    hit_step = record.depth
    assert steps[hit_step]["nbytes"] == 1

    # Cut before the hit, as a regression's formal entry runs it: the row fails, so does the gate.
    cut = dataclasses.replace(
        record, counterexample=str(set_input(witness, tmp_path / "cut.yw", "nbytes", 0, steps[0]["nbytes"], hit_step))
    )
    fill = formal_entries.fill_bin(cut, tmp_path)
    assert not fill["filled"]
    assert f"bin {POINT}[1] not filled: its condition never held in {hit_step} simulated cycle" in fill["message"]
    reproduce = f"asicdv formal crc32 --task bins --fill '{POINT}[1]'"
    assert f"reproduce: {reproduce}" in fill["message"] and fill["reproduce"] == reproduce
    assert fill["coverage"][POINT] == {"1": 0, "2": 0, "3": 0, "4": 0}
    spec = formal_entries.FormalSpec("crc32.formal.bins", "crc32", None, {}, "bins")
    row = formal_entries.row(spec, cut, tmp_path, fill)
    assert (row["verdict"], row["status"], formal_entries.rerun(row)) == ("reachable", "fail", reproduce)
    formal_summary = {"properties": [row], "missing": [], "counts": {"verdicts": {"reachable": 1}}}
    name, text, passed = gate.formal_rule(formal_summary, None)
    assert (
        not passed
        and text == f"crc32/formal/bins/{POINT}[1] reachable but not filled by its witness in simulation ({reproduce})"
    )

    # Two bytes instead of one at the hit: the simulated RTL takes a 2-byte word, so bin 2 is hit.
    changed = set_input(witness, tmp_path / "two.yw", "nbytes", hit_step, 2)
    result = formal.fill(dataclasses.replace(record, counterexample=str(changed)), out_root=tmp_path)
    assert not result.passed and "not filled" in result.message
    assert coverage_of(result)[POINT] == expected_hits(changed, ROOT / record.waves) == {"1": 0, "2": 1, "3": 0, "4": 0}


def test_cli_fills_a_bin_and_refuses_one_without_a_witness(reach, tmp_path, monkeypatch, capsys):
    out, records = reach
    monkeypatch.setattr(formal, "results_dir", lambda: tmp_path)
    assert main(["formal", "crc32", "--fill"]) == 2  # no records yet
    assert "no reach records for crc32" in capsys.readouterr().err
    formal.write_results(list(records.values()), tmp_path / "crc32" / "results.json")

    assert main(["formal", "crc32", "--task", "bins", "--fill", f"{POINT}[4]"]) == 0
    text = capsys.readouterr().out
    assert f"{POINT}[4]: filled by FormalFillTest from {records[f'{POINT}[4]'].counterexample}" in text
    assert f"  reproduce: asicdv formal crc32 --task bins --fill '{POINT}[4]'" in text
    assert (
        json.loads(
            (tmp_path / "crc32" / "fill" / "bins" / f"{POINT.replace('.', '_')}_4" / "coverage.json").read_text()
        )[POINT]["4"]
        == 1
    )

    for args, error in [
        (["--fill", "test.valid[while_busy]"], "--fill test.valid[while_busy]: unreachable (depth 8), no witness"),
        (["--fill", f"{POINT}[9]"], f"--fill {POINT}[9]: no such bin"),
        (["--fill", "--replay"], "--fill takes one block"),
    ]:
        assert main(["formal", "crc32", *args]) == 2
        err = capsys.readouterr().err
        assert error in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
