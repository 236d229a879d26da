"""Formal entries in a regression (`formal: true`): property rows in summary.json, junit.xml and
report.html, and the gate's formal rule (formal_min_depth), on crc32's handshake proof (about 10 s
with a warm WebAssembly cache). The failing case swaps in a test-only broken copy of the real core
(crc_valid rises one byte early) and sends formal's results.json to a scratch folder, so the
project's own results stay those of the real RTL."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from asicdv import project
from asicdv.tools import formal, toolchain
from asicdv.tools.blocks import get_block
from asicdv.tools.cli import main
from asicdv.tools.regress import formal_entries, summary

ROOT = project.current().root
EARLY_VALID = ("valid     <= remaining == 3'd1;", "valid     <= remaining == 3'd2;")


def regress(tmp_path: Path, *entries: str, options: tuple[str, ...] = ("--no-history",)) -> tuple[int, Path]:
    path = tmp_path / "formal_entries.yaml"
    path.write_text("entries:\n" + "".join(f"  - {e}\n" for e in entries))
    out = tmp_path / "out"
    return main(["regress", str(path), "--out", str(out), "-j", "1", *options]), out


def gate(out: Path, tmp_path: Path, rules: str, capsys) -> tuple[int, str]:
    config = tmp_path / "gates.yaml"
    config.write_text(rules)
    capsys.readouterr()
    status = main(["gate", str(out), "--config", str(config)])
    return status, capsys.readouterr().out


def test_formal_entry_gives_proved_rows_in_summary_junit_and_report(yowasp_warm, tmp_path, capsys, monkeypatch):
    # results.json too in the scratch folder: the project's must not name witnesses pytest deletes
    monkeypatch.setattr(formal, "results_dir", lambda: tmp_path / "formal-results")
    status, out = regress(tmp_path, "{block: crc32, formal: true}")
    assert status == 0
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["formal"]["properties"]
    proofs = [r for r in rows if r["task"] == "handshake"]
    assert {r["property"] for r in proofs} >= {"ready_exact", "valid_exact", "left_in_range"}
    assert {(r["verdict"], r["depth"]) for r in proofs} == {("proved", 8)}
    assert proofs[0]["reproduce"] == "asicdv formal crc32 --task handshake"
    bins = {r["property"]: r["verdict"] for r in rows if r["task"] == "bins"}
    assert bins == {f"crc32.message.last_word_bytes[{n}]": "reachable" for n in range(1, 5)}
    # Each reachable bin's witness ran as a directed test, and filled the merged coverage's hole.
    fills = {r["property"][-2]: r["fill"] for r in rows if r["task"] == "bins"}
    assert {(f["test"], f["filled"]) for f in fills.values()} == {("FormalFillTest", True)}
    point = summary["functional_coverage"]["coverpoints"]["crc32/crc32.message.last_word_bytes"]
    assert (point["hits"], point["holes"]) == ({str(n): 1 for n in range(1, 5)}, [])
    witnesses = {r["property"][-2]: r["counterexample"] for r in rows if r["task"] == "bins"}
    assert {n: (f["test"], f["trace"]) for n, f in point["filled"].items()} == {
        n: ("FormalFillTest", witnesses[n]) for n in witnesses
    }
    assert (
        point["filled"]["1"]["reproduce"] == "asicdv formal crc32 --task bins --fill 'crc32.message.last_word_bytes[1]'"
    )

    suite = ET.parse(out / "junit.xml").getroot().find("testsuite[@name='asicdv.formal_entries.formal']")
    cases = suite.findall("testcase")
    assert len(cases) == len(rows) and not suite.findall("testcase/failure")
    assert cases[0].find("properties/property[@name='verdict']").get("value") == "proved"
    html = (out / "report.html").read_text()
    assert 'id="formal"' in html and "valid_exact" in html
    assert html.count('class="filled"') == 4 and "4 by FormalFillTest from" in html

    status, text = gate(out, tmp_path, "formal_min_depth: 20\n", capsys)
    assert status == 0, text
    assert f"PASS  formal (>= 20)         {len(rows)} properties: {len(proofs)} proved, 4 reachable" in text


def test_failed_property_fails_the_regression_and_the_gate(yowasp_warm, tmp_path, capsys, monkeypatch):
    text = (ROOT / "rtl" / "crc32" / "crc32_core.v").read_text()
    assert EARLY_VALID[0] in text, "crc32_core.v changed: update this broken variant"
    broken = tmp_path / "rtl" / "crc32_core.v"
    broken.parent.mkdir()
    broken.write_text(text.replace(*EARLY_VALID))
    real_tasks = formal.load_tasks

    def broken_tasks(block):
        tasks = real_tasks(block)
        if block.name != "crc32":
            return tasks
        return [dataclasses.replace(t, sources=(broken, *t.sources[1:])) for t in tasks if t.name == "handshake"]

    monkeypatch.setattr(formal, "load_tasks", broken_tasks)
    monkeypatch.setattr(formal, "results_dir", lambda: tmp_path / "formal-results")

    db = f"sqlite:///{tmp_path / 'history.sqlite'}"
    status, out = regress(tmp_path, "{block: crc32, formal: true}", options=("--db", db))
    assert status == 1
    rows = json.loads((out / "summary.json").read_text())["formal"]["properties"]
    failed = [r for r in rows if r["verdict"] == "failed"]
    assert failed, [(r["property"], r["verdict"]) for r in rows]
    assert failed[0]["replay"] == "asicdv formal crc32 --task handshake --replay"
    assert (ROOT / failed[0]["counterexample"]).is_file() or Path(failed[0]["counterexample"]).is_file()
    recorded = json.loads((tmp_path / "formal-results" / "crc32" / "results.json").read_text())
    assert any(r["verdict"] == "failed" for r in recorded)  # where --replay looks for it

    junit = ET.parse(out / "junit.xml").getroot()
    assert junit.findall("testsuite[@name='asicdv.formal_entries.formal']/testcase/failure")

    status, text = gate(out, tmp_path, "complete: true\n", capsys)
    assert status == 1
    line = next(ln for ln in text.splitlines() if ln.startswith("  FAIL  formal"))
    assert f"crc32/formal/handshake/{failed[0]['property']} failed at step {failed[0]['depth']}" in line
    assert "(replay: asicdv formal crc32 --task handshake --replay)" in line

    # the night in the results database: its formal counts and the failing property's first night
    capsys.readouterr()
    assert main(["history", "--db", db]) == 0
    text = capsys.readouterr().out
    verdicts = {}
    for r in rows:
        verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
    assert "formal: " + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())) in text
    assert f"  {failed[0]['key']}: first night 1 (commit " in text
    assert f"failed), still failing since night 1; reproduce: {failed[0]['replay']}" in text
    history_table = (out / "report.html").read_text().split('id="formal-history"')[1].split("</table>")[0]
    assert f"<code>{failed[0]['key']}</code>" in history_table and "<td>failed</td>" in history_table


def test_a_coverage_hole_proved_unreachable_is_excluded_and_a_reachable_one_gets_a_witness(yowasp_warm, tmp_path):
    """Two test-only bins on crc32's ports: `crc_valid && !ready` (a CRC marked valid while a word
    is still being absorbed) cannot happen, since valid drops on a load and rises with the last
    byte; `crc_valid && ready` can. Both holes of a fake run's coverage: the first is excluded with
    its proof as the reason, the second stays a hole with its witness trace."""
    block = get_block("crc32")
    bins_task = next(t for t in formal.load_tasks(block) if t.name == "bins")
    task = dataclasses.replace(
        bins_task, bins={"test.valid": {"while_busy": "crc_valid && !ready", "idle": "crc_valid && ready"}}
    )
    records = formal.run_task(block, task, None, {}, out_root=tmp_path)
    verdicts = {r.property: (r.verdict, r.depth) for r in records}
    assert verdicts == {"test.valid[while_busy]": ("unreachable", 8), "test.valid[idle]": ("reachable", 2)}, verdicts

    spec = formal_entries.FormalSpec("crc32.formal.bins", "crc32", None, {}, "bins")
    rows = [formal_entries.row(spec, r, tmp_path) for r in records]
    run = {"block": "crc32", "functional_coverage": {"test.valid": {"while_busy": 0, "idle": 0, "other": 3}}}
    merged = summary.merge_functional_coverage([run], summary.bin_verdicts({"properties": rows}))
    point = merged["coverpoints"]["crc32/test.valid"]
    assert point["excluded"] == {
        "while_busy": "proved unreachable: asicdv formal, k-induction k=8 (asicdv formal crc32 --task bins)"
    }
    assert (point["bins"], point["hit"], point["holes"]) == (2, 1, ["idle"])
    assert Path(point["witnesses"]["idle"]["trace"]).name == "trace.yw"


def test_a_formal_run_past_its_timeout_is_an_error_row_that_fails_the_gate(yowasp_warm, tmp_path, capsys):
    status, out = regress(tmp_path, "{block: crc32, formal: true, tasks: [handshake], timeout_s: 0.5}")
    assert status == 1
    (row,) = json.loads((out / "summary.json").read_text())["formal"]["properties"]
    assert (row["verdict"], row["location"]) == ("error", "timed out after 0.5 s (stopped)")
    status, text = gate(out, tmp_path, "complete: true\n", capsys)
    assert status == 1
    assert "FAIL  formal                 crc32/formal/handshake/(task) error: timed out after 0.5 s (stopped)" in text


def test_bins_on_internal_state_through_taps(yowasp_warm, tmp_path):
    """Bins that need a DUT register, not a port: crc32's `remaining` (bytes of the word still to
    absorb) through a tap. 5 can never be held (a `next` of more than 4 bytes is ignored): proved
    unreachable; 4 is held the cycle after a 4-byte word is accepted: reachable at step 2. The same
    harness compiles in Verilator (the fill test's build), where the tap is a hierarchical reference."""
    block = get_block("crc32")
    bins_task = next(t for t in formal.load_tasks(block) if t.name == "bins")
    task = dataclasses.replace(
        bins_task,
        bins={"test.remaining": {"five": "t_remaining == 3'd5", "four": "t_remaining == 3'd4"}},
        taps=({"wire": "t_remaining", "signal": "dut.remaining", "width": 3},),
    )
    records = formal.run_task(block, task, None, {}, out_root=tmp_path)
    verdicts = {r.property: (r.verdict, r.depth) for r in records}
    assert verdicts == {"test.remaining[five]": ("unreachable", 8), "test.remaining[four]": ("reachable", 2)}, verdicts

    harness = tmp_path / "harness.sv"
    ports = formal.dut_ports(task, {}, task.sources)
    harness.write_text(formal.reach_harness(block, task, {}, ports, list(task.bins["test.remaining"].values())))
    assert "wire [2:0] t_remaining = dut.remaining;" in harness.read_text()
    lint = subprocess.run(
        [
            "verilator",
            "--lint-only",
            "--assert",
            "-DASICDV_REPLAY",
            "--top-module",
            f"asicdv_reach_{task.top}",
            *map(str, task.sources),
            str(harness),
        ],
        capture_output=True,
        text=True,
        env=toolchain.verilator_env(),
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
