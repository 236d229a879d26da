"""`asicdv init` / `asicdv new-block` and the stream naming rules, without a simulator
(test_foreign_repo_sim.py builds and runs what they write)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from asicdv import UserError
from asicdv.testbench import stream_names
from asicdv.tools import cli, scaffold

FIXTURE = Path(__file__).with_name("foreign_design")
SHA256_PORTS = ["clk", "rst", "in_valid", "in_ready", "in_chain", "in_block", "out_valid", "out_ready", "out_digest"]


def test_prefix_binding_is_unchanged():
    names = stream_names.resolve("in", SHA256_PORTS, exclude=("clk", "rst"))
    assert (names.valid, names.ready) == ("in_valid", "in_ready")
    assert names.fields == {"block": "in_block", "chain": "in_chain"}


def test_prefix_without_ready_is_valid_only():
    names = stream_names.resolve("res", ["clk", "res_valid", "res_data", "res_last"])
    assert names.ready is None and names.fields == {"data": "res_data", "last": "res_last"}


def test_prefix_with_direction_suffixes():
    ports = ["clk_i", "req_valid_i", "req_ready_o", "req_addr_i", "req_data_i", "rsp_valid_o", "rsp_data_o"]
    req = stream_names.resolve("req", ports)
    assert (req.valid, req.ready, req.fields) == (
        "req_valid_i",
        "req_ready_o",
        {"addr": "req_addr_i", "data": "req_data_i"},
    )
    rsp = stream_names.resolve("rsp", ports)
    assert (rsp.ready, rsp.fields) == (None, {"data": "rsp_data_o"})


def test_suffix_only_streams_leave_out_clock_reset_and_prefixed_streams():
    ports = ["clk_i", "rst_ni", "valid_i", "ready_o", "a_i", "cfg_valid_i", "cfg_mode_i", "valid_o", "y_o"]
    inp = stream_names.resolve("in", ports, exclude=("clk_i", "rst_ni"))
    assert (inp.valid, inp.ready, inp.fields) == ("valid_i", "ready_o", {"a": "a_i"})
    out = stream_names.resolve("out", ports, exclude=("clk_i", "rst_ni"))
    assert (out.valid, out.ready, out.fields) == ("valid_o", None, {"y": "y_o"})


def test_unknown_stream_says_what_it_looked_for():
    with pytest.raises(stream_names.StreamNameError, match=r"none of zz_valid, zz_valid_i/_o/_in/_out"):
        stream_names.resolve("zz", SHA256_PORTS)


def test_explicit_data_fields_and_collisions():
    names = stream_names.explicit("out", "dv_o", None, ["out_sum_o", "carry"])
    assert names.fields == {"sum": "out_sum_o", "carry": "carry"}
    with pytest.raises(stream_names.StreamNameError, match="would both be field 'x'"):
        stream_names.explicit("s", "v", None, ["x_i", "x_o"])


def test_discover_uses_port_directions():
    ports = {"clk": "in", "rst_n": "in", "valid_i": "in", "ready_o": "out", "d_i": "in", "q_o": "out", "valid_o": "out"}
    found = {f.names.name: f for f in stream_names.discover(ports, exclude=("clk", "rst_n"))}
    assert found["in"].direction == "in" and found["in"].names.fields == {"d": "d_i"}
    assert found["out"].direction == "out" and found["out"].names.ready is None
    assert found["out"].names.fields == {"q": "q_o"}


@pytest.mark.parametrize(
    ("name", "low"),
    [("rst", False), ("reset", False), ("rst_i", False), ("rst_in", False), ("rst_n", True), ("rst_ni", True)]
    + [("resetn", True), ("aresetn", True), ("rst_b", True), ("reset_l", True), ("arst_n_i", True)],
)
def test_reset_polarity_from_the_name(name, low):
    assert scaffold.reset_is_active_low(name) is low


def _project(tmp_path: Path, monkeypatch) -> Path:
    shutil.copytree(FIXTURE / "rtl", tmp_path / "rtl")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", sys.path[:])  # the CLI puts the project root on sys.path
    monkeypatch.delenv("ASICDV_PROJECT", raising=False)
    assert cli.main(["init"]) == 0
    return tmp_path


def test_init_writes_the_project_and_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path, monkeypatch)
    for rel in scaffold.INIT_FILES.values():
        assert (root / rel).is_file(), rel
    assert "include $(ASICDV_MK)" in (root / "Makefile").read_text()
    assert "asicdv gate smoke" in (root / ".github/workflows/asicdv.yml").read_text()
    assert "junit: results/regress/smoke/junit.xml" in (root / ".gitlab-ci.yml").read_text()
    (root / "Makefile").write_text("# mine\n")
    capsys.readouterr()
    assert cli.main(["init"]) == 2
    error = capsys.readouterr().err
    assert "Makefile" in error and "already exist" in error and len(error.strip().splitlines()) == 1
    assert (root / "Makefile").read_text() == "# mine\n"


def test_init_inside_another_project_is_refused(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path, monkeypatch)
    (root / "sub").mkdir()
    assert cli.main(["init", "sub"]) == 2
    assert f"inside the asicdv project of {root}" in capsys.readouterr().err


def test_new_block_finds_clock_reset_and_streams(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path, monkeypatch)
    assert cli.main(["new-block", "mac", "--top", "mac_pipe", "--sources", "rtl/mac/*.v"]) == 0
    block = yaml.safe_load((root / "tb/mac/block.yaml").read_text())
    assert block["clock"] == "clk_i"
    assert block["reset"] == {"name": "rst_ni", "active": "low", "cycles": 3}
    assert block["streams"] == {
        "in": {"valid": "valid_i", "ready": "ready_o", "data": ["a_i", "b_i", "c_i"]},
        "out": {"valid": "valid_o", "ready": None, "data": ["y_o"]},
    }
    env = (root / "tb/mac/env.py").read_text()
    assert 'inputs = ("in",)' in env and 'outputs = ("out",)' in env
    assert 'settle_signals = ("ready_o", "valid_o", "y_o")' in env
    for rel in ("tb/__init__.py", "models/__init__.py", "models/mac.py", "tb/mac/mac_tests.py"):
        assert (root / rel).is_file(), rel
    from asicdv import project as projects
    from asicdv.tools.blocks import load_block

    loaded = load_block(root / "tb/mac/block.yaml", projects.load(root / "asicdv.toml"))
    assert loaded.streams["out"]["ready"] is None and [t.name for t in loaded.tests] == ["SmokeTest"]
    capsys.readouterr()
    assert cli.main(["new-block", "mac", "--top", "mac_pipe", "--sources", "rtl/mac/*.v"]) == 2
    assert "tb/mac/block.yaml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--top", "nope", "--sources", "rtl/mac/*.v"], "no module 'nope' in the sources; modules there: "),
        (["--top", "mac_pipe", "--sources", "rtl/none/*.v"], "source pattern 'rtl/none/*.v' matches no file"),
        (["--top", "mac_pipe", "--sources", "rtl/mac/*.v", "--clock", "clk"], "--clock clk: mac_pipe has no such port"),
    ],
)
def test_new_block_mistakes_are_one_line(tmp_path, monkeypatch, capsys, argv, message):
    _project(tmp_path, monkeypatch)
    capsys.readouterr()
    assert cli.main(["new-block", "mac", *argv]) == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1, error


def test_block_file_streams_are_validated(tmp_path, monkeypatch):
    from asicdv import project as projects
    from asicdv.tools.blocks import load_block

    root = _project(tmp_path, monkeypatch)
    path = root / "block.yaml"
    base = "name: m\ntop: mac_pipe\nsources: [rtl/mac/*.v]\ntest_module: tb.m.t\ntests: []\n"
    project = projects.load(root / "asicdv.toml")
    path.write_text(base + "streams: {out: {valid: valid_o, data: [y_o]}}\n")
    with pytest.raises(UserError, match="stream out: 'ready' is missing"):
        load_block(path, project)
    path.write_text(base + "streams: {out: {valid: valid_o, ready: null, data: 3}}\n")
    with pytest.raises(UserError, match="stream out: valid, ready and data name signals"):
        load_block(path, project)


def test_makefile_prints_the_shipped_fragment(capsys):
    assert scaffold.makefile(None) == 0
    fragment = Path(capsys.readouterr().out.strip())
    assert fragment.is_file() and "$(ASICDV) regress $(REGRESSION)" in fragment.read_text()


def test_pairing_board_waits_for_expectations_of_early_beats():
    from asicdv.testbench.stream_env import PairingBoard

    board = PairingBoard("out")
    board.observe({"y": 1})  # out on the same edge as its input: the expectation comes after
    assert board.errors == 0 and not board.owes()
    board.expect({"y": 1})
    board.expect({"y": 2})
    assert board.owes()
    board.observe({"y": 3})
    board.observe({"y": 9})  # nothing predicted this one
    with pytest.raises(AssertionError, match=r"2 error\(s\); first: out transaction 1: mismatch"):
        board.check()
    assert "unexpected transaction from the DUT: {y: 0x9}" in board.last_mismatch
