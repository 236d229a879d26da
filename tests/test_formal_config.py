"""asicdv.tools.formal without the tools: task files, parameter sweeps, streams, witnesses, CLI errors."""

import dataclasses
import json
import re

import pytest

from asicdv import UserError, project
from asicdv.tools import formal
from asicdv.tools.blocks import all_blocks, get_block, load_block
from asicdv.tools.cli import main

ROOT = project.current().root


def test_fifo_task_sweeps_every_legal_depth():
    block = get_block("sha256d")
    assert block.parameters["FIFO_DEPTH"] == (1, 2, 3, 5, 8, 16)
    fifo = next(t for t in formal.load_tasks(block) if t.name == "fifo")
    sets = formal.parameter_sets(block, fifo, None, {})
    assert [p for _, p in sets] == [{"FIFO_DEPTH": d} for d in (1, 2, 3, 5, 8, 16)]
    assert formal.parameter_sets(block, fifo, None, {"FIFO_DEPTH": 3}) == [(None, {"FIFO_DEPTH": 3})]


def test_variant_parameters_fix_what_they_set():
    block = get_block("sha256d")
    walk = next(t for t in formal.load_tasks(block) if t.name == "walk")
    assert formal.parameter_sets(block, walk, None, {}) == [("iterative", {"PIPELINED": 0, "FIFO_DEPTH": 1})]
    assert formal.parameter_sets(block, walk, "pipelined", {}) == []  # the abstract engine is the iterative one


def test_illegal_parameter_is_a_user_error():
    block = get_block("sha256d")
    fifo = next(t for t in formal.load_tasks(block) if t.name == "fifo")
    with pytest.raises(UserError, match=r"FIFO_DEPTH=4: not a legal value"):
        formal.parameter_sets(block, fifo, None, {"FIFO_DEPTH": 4})


def test_cli_bad_param_exits_2_with_one_line(capsys):
    assert main(["formal", "sha256d", "--param", "FIFO_DEPTH=4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "FIFO_DEPTH=4" in err[0]
    assert main(["formal", "sha256d", "--param", "FIFO_DEPTH"]) == 2
    assert main(["formal", "sha256d", "--task", "nosuch"]) == 2


def test_block_parameters_are_validated(tmp_path):
    path = tmp_path / "block.yaml"
    base = "name: x\ntop: crc32_core\nsources: [rtl/crc32/*.v]\ntest_module: tb.crc32.crc32_tests\ntests: []\n"
    path.write_text(base + "parameters: {W: [1, 2]}\nvariants: {a: {W: 3}}\n")
    with pytest.raises(UserError, match=r"variant a: W=3 is not a legal value"):
        load_block(path)
    path.write_text(base + "parameters: {W: []}\n")
    with pytest.raises(UserError, match=r"parameters\.W: \[\] should be non-empty"):
        load_block(path)
    path.write_text(base + "parameters: {W: [1, 2]}\nvariants: {a: {W: 2}}\n")
    assert load_block(path).parameters == {"W": (1, 2)}


def test_streams_are_parsed_and_checked():
    streams = {s.name: s for s in formal.parse_streams(get_block("sha256"))}
    assert streams["out"].valid == "out_valid" and streams["out"].direction == "out"
    assert streams["in"].data == ("in_chain", "in_block")
    bad = dataclasses.replace(get_block("sha256"), streams={"x": {"valid": "v", "direction": "sideways"}})
    with pytest.raises(UserError, match="direction: in\\|out"):
        formal.parse_streams(bad)


def test_depth_expressions():
    assert formal.eval_depth("2*FIFO_DEPTH+4", {"FIFO_DEPTH": 3}, "t") == 10
    assert formal.eval_depth(7, {}, "t") == 7
    with pytest.raises(UserError, match="not an arithmetic expression"):
        formal.eval_depth("__import__('os')", {}, "t")


def test_witness_bits_are_read_last_signal_first(tmp_path):
    # smtbmc writes each step's bits with the first signal's bit 0 as the last character.
    yw = {
        "format": "Yosys Witness Trace",
        "signals": [
            {"path": ["\\clk"], "width": 1, "offset": 0, "init_only": False},
            {"path": ["\\data"], "width": 4, "offset": 0, "init_only": False},
            {"path": ["\\rst"], "width": 1, "offset": 0, "init_only": False},
            {"path": ["\\_witness_", "\\anyinit_q"], "width": 2, "offset": 0, "init_only": True},
        ],
        "steps": [{"bits": "11" + "1" + "0110" + "0"}, {"bits": "0" + "1001" + "0"}],
    }
    path = tmp_path / "t.yw"
    path.write_text(json.dumps(yw))
    inputs, steps = formal.read_witness(path)
    assert inputs == ["clk", "data", "rst"]
    assert steps[0] == {"clk": 0, "data": 0b0110, "rst": 1}
    assert steps[1] == {"clk": 0, "data": 0b1001, "rst": 0}


def test_every_formal_task_file_loads():
    for name in ("crc32", "kpu", "sha256", "sha256d"):
        block = get_block(name)
        assert formal.formal_file(block).is_relative_to(ROOT)
        assert formal.load_tasks(block)


# ---- formal entries of a regression (planned without the tools) ---------------------------------


def _regression(tmp_path, *entries: str) -> str:
    path = tmp_path / "r.yaml"
    path.write_text("entries:\n" + "".join(f"  - {e}\n" for e in entries))
    return str(path)


def test_formal_entry_plans_one_run_per_task_and_parameter_set(tmp_path):
    from asicdv.tools.regress import config, formal_entries

    path = _regression(
        tmp_path,
        "{block: sha256d, formal: true, tasks: [fifo], parameters: {FIFO_DEPTH: 3}}",
        "{block: sha256d, formal: true, tasks: [fifo], parameters: {FIFO_DEPTH: 16}, depth: 5}",
        "{block: crc32, formal: true}",
        "{block: crc32, tests: smoke, reseeds: 1}",
    )
    _, entries = config.load(config.resolve(path))
    specs = formal_entries.plan(entries, all_blocks())
    assert [(s.id, s.depth) for s in specs] == [
        ("sha256d.formal.fifo-FIFO_DEPTH3", None),
        ("sha256d.formal.fifo-FIFO_DEPTH16", 5),
        ("crc32.formal.handshake", None),
        ("crc32.formal.bins", None),
    ]
    assert specs[1].reproduce() == "asicdv formal sha256d --task fifo --param FIFO_DEPTH=16 --depth 5"
    sims = config.plan(entries, 1)
    assert {s.block for s in sims} == {"crc32"}  # formal entries plan no simulation run


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{block: crc32, formal: maybe}", r"entry 1: formal: 'maybe' is not of type 'boolean'"),
        ("{block: crc32, formal: true, tests: all}", r"entry 1: a formal entry \(formal: true\) takes no 'tests'"),
        (
            "{block: crc32, formal: true, tasks: [nope]}",
            r"entry 1: unknown formal task 'nope' for crc32; known: handshake",
        ),
        ("{block: crc32, tasks: [handshake]}", r"entry 1: 'tasks' belong to formal entries \(add formal: true\)"),
        (
            "{block: sha256d, formal: true, tasks: [fifo], parameters: {FIFO_DEPTH: 4}}",
            r"entry 1: FIFO_DEPTH=4 is not a legal value for sha256d",
        ),
        ("{block: crc32, formal: true, depth: 0}", r"entry 1: depth: 0 is less than the minimum of 1"),
    ],
)
def test_bad_formal_entry_exits_2_with_one_line(tmp_path, capsys, entry, message):
    path = _regression(tmp_path, entry)
    assert main(["regress", path, "--out", str(tmp_path / "out"), "--no-history"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert re.search(message, err), err


def test_reach_task_needs_bins_and_only_it_has_them(tmp_path):
    block = dataclasses.replace(get_block("crc32"), path=tmp_path / "block.yaml")
    (tmp_path / "formal").mkdir()
    spec = "tasks:\n  - {name: b, top: crc32_core, sources: block, mode: %s%s}\n"
    for mode, extra, message in [
        ("reach", "", "a reach task needs bins"),
        ("prove", ", bins: {p: {x: 'next'}}", "a reach task needs bins"),
        ("reach", ", bins: {p: {x: ''}}", "each condition a Verilog expression"),
    ]:
        (tmp_path / "formal" / "formal.yaml").write_text(spec % (mode, extra))
        with pytest.raises(UserError, match=message):
            formal.load_tasks(block)
    (tmp_path / "formal" / "formal.yaml").write_text(spec % ("reach", ", bins: {p: {x: 'next && ready'}}"))
    assert formal.load_tasks(block)[0].bins == {"p": {"x": "next && ready"}}
