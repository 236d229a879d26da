"""This chip's project files hang together, and its block commands reject bad input cleanly:
every block file names real sources and tests, every test is listed, every RTL file belongs
to a block; `asicdv sha256` and `asicdv mine` errors are one line with exit 2."""

import ast
import subprocess
import sys

import pytest

from asicdv import project
from asicdv.tools import cli
from asicdv.tools import code_coverage as codecov
from asicdv.tools.blocks import all_blocks

ROOT = project.current().root


def test_block_files_load_and_name_real_tests():
    blocks = all_blocks()
    assert "sha256" in blocks
    for block in blocks.values():
        assert block.sources and block.tests
        assert all(source.exists() for source in block.sources)


def test_every_cocotb_test_is_listed_in_its_block_file():
    """A test written but not listed would never run; a listed one must exist."""
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


def test_every_rtl_file_belongs_to_a_block():
    """`make lint` and the simulations see only block sources: no RTL file may be orphaned
    (a vendored file a block does not use is listed in its `exclude`)."""
    covered = {source for block in all_blocks().values() for source in (*block.sources, *block.excluded)}
    orphans = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "rtl").rglob("*.v")) if p not in covered]
    assert not orphans, f"RTL files in no tb/<block>/block.yaml: {orphans}"


def test_the_project_exclusion_files_load():
    for exclusion in codecov.load_exclusions():
        assert exclusion.reason
