"""Verilator coverage.dat reading, merging, exclusions and reports (asicdv.tools.code_coverage), and
the run command and build key of a coverage build (of the fixture project's block)."""

from pathlib import Path

import pytest

from asicdv import UserError, project
from asicdv.tools import code_coverage as codecov
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block

FIXTURE = project.load(Path(__file__).parent / "fixture" / "asicdv.toml")
RTL = "/x/rtl/demo/demo.v"


def _point(count: int, line: int, kind: str, comment: str, span: str = "", column: int = 5) -> str:
    fields = {"f": RTL, "l": str(line), "n": str(column), "t": kind, "page": f"v_{kind}/demo", "o": comment}
    if span:
        fields["S"] = span
    fields["h"] = "top.u_demo"
    return "C '" + "".join(f"\x01{k}\x02{v}" for k, v in fields.items()) + f"' {count}"


def _write(path: Path, *points: str) -> Path:
    path.write_text("# SystemC::Coverage-3\n" + "\n".join(points) + "\n")
    return path


def test_parse_and_merge_sum_counts_per_point(tmp_path):
    a = _write(tmp_path / "a.dat", _point(3, 10, "line", "block", "10-12"), _point(0, 20, "branch", "if", "20"))
    b = _write(tmp_path / "b.dat", _point(2, 10, "line", "block", "10-12"), _point(0, 20, "branch", "if", "20"))
    points = codecov.merge_counts([a, b])
    by_line = {p.line: c for p, c in points.items()}
    assert by_line == {10: 5, 20: 0}
    span = next(p for p in points if p.line == 10).span
    assert span == (10, 11, 12)


def test_the_fast_reader_and_the_line_by_line_one_agree(tmp_path):
    """A file of points only is read in one pass; comments and empty lines send it line by line.
    Both give the same points; asking for some kinds gives exactly those of the whole file."""
    points = [
        _point(3, 10, "line", "block", "10-12"),
        _point(1, 5, "toggle", "state[0]:0->1"),
        _point(0, 20, "branch", "if", "20"),
        _point(7, 5, "toggle", "state[0]:1->0"),
    ]
    plain = _write(tmp_path / "plain.dat", *points)
    commented = _write(tmp_path / "commented.dat", points[0], "# a comment", "", *points[1:])
    whole = codecov.parse(plain)
    assert len(whole) == 4 and codecov.parse(commented) == whole
    for kinds in [("line", "branch"), ("toggle",), ("branch",)]:
        wanted = {k: c for k, c in whole.items() if any(f"\x01t\x02{kind}\x01" in k for kind in kinds)}
        assert codecov.parse(plain, kinds) == wanted == codecov.parse(commented, kinds)
    assert codecov.merge_counts([plain, plain, commented]) == {
        p: 3 * c for p, c in codecov.merge_counts([plain]).items()
    }


def test_a_bad_line_among_good_ones_is_named(tmp_path):
    """A whole read checks every line; a read of some kinds checks the lines of those kinds (the
    lines of others are not read: the regression's code-coverage merge reads them all)."""
    good = [_point(3, 10, "line", "block", "10"), _point(1, 11, "line", "x")]
    bad = _write(tmp_path / "bad.dat", good[0], "C 'half a line", good[1])
    with pytest.raises(UserError, match=r"bad.dat:3: not a coverage point line"):
        codecov.parse(bad)
    bad_line = _write(tmp_path / "bad_line.dat", good[0], _point(1, 12, "line", "y")[:-3], good[1])
    for kinds in [codecov.KINDS, ("line",)]:
        with pytest.raises(UserError, match=r"bad_line.dat:3: not a coverage point line"):
            codecov.parse(bad_line, kinds)


def test_span_lists_several_ranges(tmp_path):
    a = _write(tmp_path / "a.dat", _point(1, 142, "line", "block", "142,144-146,156"))
    (point,) = codecov.merge_counts([a])
    assert point.span == (142, 144, 145, 146, 156)


def test_percentages_per_kind_and_exclusions(tmp_path):
    dat = _write(
        tmp_path / "c.dat",
        _point(4, 10, "line", "block", "10"),
        _point(0, 11, "line", "case", "11"),
        _point(1, 20, "branch", "if", "20"),
        _point(0, 20, "branch", "else", "", column=6),
        _point(1, 5, "toggle", "state[0]:0->1"),
        _point(0, 5, "toggle", "state[0]:1->0"),
        _point(0, 6, "toggle", "spare[3]:0->1"),
    )
    figures = codecov.merge([dat], tmp_path / "out", exclusions=[])
    assert figures == {"demo": {"line": 50.0, "toggle": 33.33, "branch": 50.0}}
    unreachable = codecov.Exclusion("demo.v", (11,), "line", None, "default arm cannot happen", Path("x"))
    spare = codecov.Exclusion("demo.v", (), "toggle", r"^spare\[", "unused bits", Path("x"))
    figures = codecov.merge([dat], tmp_path / "out2", exclusions=[unreachable, spare])
    assert figures == {"demo": {"line": 100.0, "toggle": 50.0, "branch": 50.0}}
    info = (tmp_path / "out2" / "coverage.info").read_text()
    assert f"SF:{RTL}" in info and "DA:10,4" in info and "DA:11," not in info and "BRDA:20,0,1,0" in info
    assert (tmp_path / "out2" / "coverage.xml").read_text().startswith("<?xml")
    assert (tmp_path / "out2" / "html" / "index.html").exists()


def test_not_a_coverage_file_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.dat"
    bad.write_text("hello\n")
    with pytest.raises(UserError, match="not a Verilator coverage.dat"):
        codecov.parse(bad)
    with pytest.raises(UserError, match="no coverage.dat"):
        codecov.merge([], tmp_path)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("- {file: a.v, lines: [3]}\n", "reason"),
        ("- {file: a.v, reason: why}\n", "'lines' or 'pattern'"),
        ("- {file: a.v, lines: [x], reason: why}\n", "numbers or ranges"),
        ("{a: 1}\n", "YAML list"),
    ],
)
def test_exclusion_file_problems_are_named(tmp_path, text, problem):
    path = tmp_path / "coverage_exclusions.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=problem):
        codecov.load_exclusions([path])


def test_runs_seed_verilator_random_initial_values():
    block = get_block("slowinc", FIXTURE)
    build = sim.Build(block, "default", False, Path("/b"), 0.0)
    cmd = build.command(1234)
    assert "+verilator+seed+1234" in cmd and "+verilator+rand+reset+2" in cmd
    covered = sim.Build(block, "default", False, Path("/b"), 0.0, coverage=True).command(1234)
    assert "+verilator+seed+1234" in covered and "+verilator+rand+reset+0" in covered  # coverage runs: zeros
    assert sim.verilator_seed(0) != 0 and sim.verilator_seed(0x7FFFFFFF) != 0
    assert sim.X_INIT_FLAGS == ("--x-assign", "unique", "--x-initial", "unique")
    icarus = sim.Build(block, "default", False, Path("/b"), 0.0, simulator="icarus")
    assert icarus.command(1)[0] == "vvp" and not any("verilator" in a for a in icarus.command(1)[1:2])


def test_build_key_includes_coverage_and_simulator():
    block = get_block("slowinc", FIXTURE)
    keys = {
        sim._build_key(block, "default", False, None, cov, simulator)
        for cov, simulator in [(False, "verilator"), (True, "verilator"), (False, "icarus")]
    }
    assert len(keys) == 3
    with pytest.raises(UserError, match="unknown simulator"):
        sim.build(block, simulator="vcs")
