"""Hostile and careless inputs, without a simulator: every regression file and block.yaml problem is one
line and exit 2 before anything runs (within a second and a few MB, alias bombs included); the results
folder is refused when asicdv may not clean it; nothing a file or a name says reaches a shell or the
report unescaped (checked in headless chromium); and a hypothesis property fuzzes regression and block
files for "exit 2 with one line, or a valid plan", never a traceback. The simulation fault probes are
in tb/test_faults.py; docs/reliability.md lists them all."""

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools import cli, regress, report
from asicdv.tools.blocks import all_blocks, load_block

TEST_MODULE = '''"""Fixture tests."""
import cocotb


@cocotb.test()
async def Alpha(dut):
    pass


@cocotb.test()
async def Beta(dut):
    pass
'''
BLOCK = {
    "name": "fx",
    "top": "fx_top",
    "sources": ["rtl/fx.v"],
    "test_module": "tb.fx.fx_tests",
    "timeout_s": 30,
    "variants": {"default": {"W": 8}, "wide": {"W": 32}},
    "tests": [{"name": "Alpha", "reseeds": 2}, {"name": "Beta", "smoke": False}],
}


@pytest.fixture
def fx(tmp_path, monkeypatch):
    """A small project of one block (never built here): [limits] max_runs 50, max_reseeds 10."""
    root = tmp_path / "proj"
    (root / "tb" / "fx").mkdir(parents=True)
    (root / "rtl").mkdir()
    (root / "regressions").mkdir()
    (root / "asicdv.toml").write_text('blocks = "tb/*/block.yaml"\n[limits]\nmax_runs = 50\nmax_reseeds = 10\n')
    (root / "rtl" / "fx.v").write_text("module fx_top #(parameter W = 8) (input clk); endmodule\n")
    (root / "tb" / "fx" / "fx_tests.py").write_text(TEST_MODULE)
    (root / "tb" / "fx" / "block.yaml").write_text(yaml.safe_dump(BLOCK))
    monkeypatch.setenv("ASICDV_PROJECT", str(root))
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the project root asicdv puts there goes again
    return root


def regress_cli(path, *extra, capsys) -> tuple[int, str]:
    code = cli.main(["regress", str(path), *map(str, extra)])
    captured = capsys.readouterr()
    return code, captured.err


def refused(path, capsys, *extra) -> str:
    """The command's one stderr line, after asserting exit 2 and nothing else on stderr."""
    code, err = regress_cli(path, *extra, capsys=capsys)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("asicdv: error: "), err
    return lines[0]


# Nine levels of nine aliases: 10^9 nodes, under a key the schema checks (its error message would print it).
BOMB = "\n".join(
    ["defaults:", "  timeout_s:", f"    - &a0 [{', '.join(['x'] * 9)}]"]
    + [f"    - &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    + ["entries: [{block: fx}]", "description: *a9"]
)


@pytest.mark.parametrize(
    "text, problem",
    [
        (b"entries:\n  - {block: fx, tests: [Alpha\xff]}\n", r"is not UTF-8 text \(byte 0xff at offset 38\)"),
        (
            b"entries:\n  - {block: fx, reseeds: 3000000}\n",
            r"entry 1: 3000000 seeds per test is above the limit of 10 \(\[limits\] max_reseeds in .*asicdv.toml\)",
        ),
        (
            b"entries:\n  - {block: fx, reseeds: 10}\n  - {block: fx, reseeds: 10, parameters: {W: 3}}\n"
            b"  - {block: fx, reseeds: 10, parameters: {W: 4}}\n",
            r"the entries ask for 120 runs; the limit is 50 \(\[limits\] max_runs in .*asicdv.toml\)",
        ),
        (BOMB.encode(), r"expands to more than 100000 YAML nodes once its aliases are expanded"),
        (b"entries:\n  - {block: fx, timeout_s: .nan}\n", r"entry 1: timeout_s: nan is not of type 'number'"),
        (b"entries:\n  - {block: fx, timeout_s: .inf}\n", r"entry 1: timeout_s: inf is not of type 'number'"),
        (b"entries:\n  - {block: fx, timeout_s: 0}\n", r"entry 1: timeout_s: 0 is less than or equal to"),
        (b"entries:\n  - {block: fx, timeout_s: 1e9}\n", r"timeout_s: '1e9' is not of type 'number'"),
        (b"entries:\n  - {block: fx, timeout_s: 100000000}\n", r"timeout_s: 100000000 is greater than the maximum"),
        (b"entries: []\n", r"the regression plans no runs"),
        (b"entries:\n  - {block: fx, tests: smoke, variants: [wide], seeds: [1]}\n", None),  # plans: fine
        (b"entries:\n  - {block: fx, reseeds: 0}\n", r"entry 1: reseeds: 0 is less than the minimum of 1"),
        (b"entries:\n  - {block: fx, tests: [Gamma]}\n", r"entry 1: unknown test 'Gamma' for block fx"),
        (b"entries:\n  - {block: fx, module: tb.fx.fx_tests, tests: [Gamma]}\n", r"has no cocotb test 'Gamma'"),
        (
            b"entries:\n  - {block: fx, tests: ['<img src=x onerror=alert(1)>']}\n",
            r"entry 1: tests: \['<img src=x onerror=alert\(1\)>'\] is not valid",
        ),
        (b"[" * 5000 + b"]" * 5000, r"nests lists or mappings more than 64 deep"),
        (b"entries:\n  - &e {block: fx, x: *e}\n", r"has an alias that refers to itself"),
        (b"entries: [{block: fx}]\nentries: !!python/object:os.system {}\n", r"is not valid YAML"),
        (b"- a list\n", r"a regression file is a YAML mapping"),
    ],
)
def test_a_bad_regression_file_is_one_line_and_exit_2_before_anything_runs(fx, capsys, text, problem):
    path = fx / "regressions" / "bad.yaml"
    path.write_bytes(text)
    out = fx / "out"
    began = time.process_time()  # CPU time: the machine's load is no part of the verdict
    tracemalloc.start()
    try:
        if problem is None:
            assert regress.plan(regress.load(path)[1], 1)
            return
        line = refused(path, capsys, "--out", out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert re.search(problem, line), line
    assert time.process_time() - began < 1.0 and peak < 8 << 20  # a CPU second and a few MB, bombs included
    assert not out.exists()  # nothing ran, nothing was written


def test_oversized_and_include_bombs_are_refused(fx, capsys):
    big = fx / "big.yaml"
    big.write_bytes(b"description: " + b"x" * (2 << 20) + b"\nentries: [{block: fx}]\n")
    assert re.search(r"big.yaml: regression file is \d+ bytes; the limit is 1048576 bytes", refused(big, capsys))
    for name in "abc":
        nxt = chr(ord(name) + 1)
        (fx / f"{name}.yaml").write_text(f"include: [{', '.join([f'{nxt}.yaml'] * 20)}]\n")
    (fx / "d.yaml").write_text("entries: [{block: fx}]\n")
    assert "reads more than 200 regression files through 'include'" in refused(fx / "a.yaml", capsys)


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"tests": [{"name": "Alpha", "reseeds": "many"}]}, r"tests\[0\].reseeds: 'many' is not of type 'integer'"),
        ({"timeout_s": "soon"}, r"timeout_s: 'soon' is not of type 'number'"),
        ({"timeout_s": float("nan")}, r"timeout_s: nan is not of type 'number'"),
        ({"timeout_s": -5}, r"timeout_s: -5 is less than or equal to the minimum of 0"),
        ({"tests": [{"name": "Alpha", "reseeds": 0}]}, r"tests\[0\].reseeds: 0 is less than the minimum of 1"),
        ({"tests": [{"name": "Alpha", "reseeds": 11}]}, r"test Alpha: reseeds 11 is above the limit of 10"),
        ({"tests": [{"name": "Gamma"}]}, r"test 'Gamma' is not defined in the test module tb.fx.fx_tests"),
        ({"tests": [{"name": "Alpha"}, {"name": "Alpha"}]}, r"test Alpha is listed twice"),
        ({"tests": [{"name": "x; rm -rf /"}]}, r"tests\[0\].name: 'x; rm -rf /' is not a valid name"),
        ({"variants": {"<b>": {}}}, r"is not a valid name|does not match"),
        ({"variants": {"default": {"W": "wide"}}}, r"variants.default.W: 'wide' is not of type 'integer'"),
        ({"sources": "rtl/fx.v"}, r"sources: 'rtl/fx.v' is not of type 'array'"),
        ({"test_module": None}, r"test_module: None is not of type 'string'"),
        ({"reset": {"active": "sideways"}}, r"reset.active: 'sideways' is not one of"),
        ({"colour": "red"}, r"unknown key\(s\) colour; known:"),
    ],
)
def test_a_bad_block_file_is_one_line_and_exit_2(fx, capsys, change, problem):
    (fx / "tb" / "fx" / "block.yaml").write_text(yaml.safe_dump({**BLOCK, **change}))
    path = fx / "regressions" / "r.yaml"
    path.write_text("entries:\n  - {block: fx}\n")
    line = refused(path, capsys)
    assert re.search(problem, line), line
    assert "block.yaml" in line


def test_a_file_or_a_foreign_folder_as_out_is_refused_and_left_alone(fx, capsys):
    path = fx / "regressions" / "r.yaml"
    path.write_text("entries:\n  - {block: fx}\n")
    afile = fx / "notes.txt"
    afile.write_text("mine")
    assert f"results folder {afile} is a file, not a folder" in refused(path, capsys, "--out", afile)
    foreign = fx / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    (foreign / "runs").mkdir()
    assert "is not empty and is not an asicdv results folder" in refused(path, capsys, "--out", foreign)
    assert (foreign / "thesis.tex").read_text() == "years of work" and (foreign / "runs").is_dir()
    assert sorted(p.name for p in foreign.iterdir()) == ["runs", "thesis.tex"]


# ---------------------------------------------------------------- shells and pages

HOSTILE = "x$(touch PWNED)`touch PWNED2`;touch PWNED3 '\"<img src=x onerror=alert(1)>"


def test_printed_commands_are_quoted_for_the_shell(fx, tmp_path):
    path = fx / "regressions" / f"{HOSTILE}.yaml"
    path.write_text(
        "entries:\n  - {block: fx, module: tb.fx.fx_tests, tests: [Alpha], seeds: [1], variants: [default]}\n"
    )
    blocks = all_blocks()
    (spec,) = regress.plan(regress.load(path)[1], 7, blocks)
    line = regress.reproduce_line(spec, blocks, str(path), 7)
    out = fx / "out"
    out.mkdir()
    (out / "plan.json").write_text(
        json.dumps(
            {"regression": "r", "invocation": str(path), "file": str(path), "seed": 7, "created": "now", "runs": []}
        )
    )
    summary = regress.summarize(out)
    for printed in (line, summary["replay_command"], summary["resume_command"]):
        words = shlex.split(printed)
        assert str(path) in words  # the file name is one word, as given
        # Pasted into a shell (with asicdv swapped for printf): the words come back, nothing runs.
        echoed = subprocess.run(
            ["bash", "-c", "printf '%s\\n' " + printed.split(" ", 1)[1]], cwd=tmp_path, capture_output=True, text=True
        )
        assert echoed.stdout.splitlines() == words[1:]
        assert not list(tmp_path.glob("PWNED*")) and not list(fx.glob("PWNED*"))


def hostile_summary(tmp_path: Path) -> dict:
    """A summary with a hostile string in every field the report shows."""
    evil = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\"><script>document.title='PWNED'</script>"
    run = {
        "id": f"{evil}.1",
        "key": f"blk/{evil}/T",
        "block": evil,
        "variant": evil,
        "parameters": {evil: 1},
        "test": evil,
        "seed": 1,
        "config": f"{evil}[{evil}]",
        "status": "fail",
        "message": evil,
        "signature": evil,
        "log": f"javascript:alert(1)//{evil}",
        "waves": evil,
        "wall_s": 1.0,
        "sim_time_ns": 5.0,
        "reproduce": f"asicdv test {evil}",
        "flaky": True,
        "functional_coverage": {evil: {evil: 0}},
    }
    return {
        "regression": evil,
        "invocation": evil,
        "file": evil,
        "seed": 3,
        "created": evil,
        "written": evil,
        "wall_s": 1.0,
        "sessions": [{"mode": evil, "started": evil, "wall_s": 1, "executor": evil, "jobs": evil, "interrupted": evil}],
        "counts": {"planned": 2, "done": 1, "passed": 0, "failed": 1, "missing": 1, "flaky": 1},
        "pass_rate": 0.0,
        "runs": [run],
        "missing": [evil],
        "buckets": [
            {
                "signature": evil,
                "count": 1,
                "tests": [evil, evil],
                "message": evil,
                "runs": [{k: run[k] for k in ("id", "seed", "reproduce", "log", "waves", "flaky")}],
            }
        ],
        "builds": {evil: {"seconds": 1.0, "cached": False, "directory": evil, "error": evil}},
        "functional_coverage": regress.merge_functional_coverage([run]),
        "code_coverage": {"summary": {evil: {evil: 50.0}}, "html": evil},
        "previous": {
            "written": evil,
            "seed": evil,
            "new_failures": [evil],
            "fixed": [evil],
            "still_failing": [evil],
            "flaky": [evil],
        },
    }


def test_report_escapes_every_field_and_forbids_inline_script(tmp_path):
    html = report.render_html(hostile_summary(tmp_path))
    assert "<img src=x" not in html and "<script>document" not in html  # every field escaped
    assert re.findall(r"(\w+)\|safe", Path(report.__file__).read_text()) == ["svg"]  # matplotlib's own SVG only
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1)
    assert "script-src 'none'" in csp and "default-src 'none'" in csp
    assert html.count("&lt;img src=x") >= 20  # shown, as text


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="chromium not installed (apt-get install chromium; .ci/run does)")
def test_hostile_names_run_no_script_in_chromium(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(report.render_html(hostile_summary(tmp_path)))
    # The same page with the escaping undone: the policy alone must still stop the script.
    unescaped = tmp_path / "unescaped.html"
    unescaped.write_text(page.read_text().replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"'))
    for target in (page, unescaped):
        dom = subprocess.run(
            [
                _chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--dump-dom",
                target.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        assert not re.search(r"<body[^>]*data-pwned", dom) and "<title>PWNED</title>" not in dom, target.name
        assert 'id="failed-runs"' in dom  # the page did render


# ---------------------------------------------------------------- fuzzing

KEYS = list(regress.ENTRY_PROPERTIES) + ["bogus"]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["all", "smoke", "fx", "Alpha", "Beta", "wide", "default", "W", "tb.fx.fx_tests", "icarus"]),
    st.text(max_size=12),
)


def _nested(children):
    return st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)


JSONISH = st.recursive(VALUES, _nested, max_leaves=8)
ENTRY = st.dictionaries(st.sampled_from(KEYS), st.one_of(VALUES, JSONISH, st.lists(VALUES, max_size=3)), max_size=6)
REGRESSION = st.one_of(
    st.fixed_dictionaries(
        {"entries": st.lists(ENTRY.map(lambda e: {"block": "fx", **e}), max_size=4)},
        optional={"seed": VALUES, "defaults": ENTRY, "description": VALUES, "bogus": VALUES},
    ),
    JSONISH,
)
BLOCK_FIELDS = st.dictionaries(
    st.sampled_from(sorted(BLOCK) + ["reset", "whitebox", "uses", "clock", "build_args", "bogus"]),
    st.one_of(VALUES, JSONISH),
    max_size=3,
)


def _exit_2_or_plan(action) -> None:
    try:
        action()
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc), repr(str(exc))


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # CI sees the same examples every run
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=REGRESSION, raw=st.binary(max_size=64), as_text=st.booleans())
def test_fuzzed_regression_files_plan_or_are_one_line(fx, data, raw, as_text):
    path = fx / "regressions" / "fuzz.yaml"
    if as_text:
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
    else:
        path.write_bytes(yaml.safe_dump(data).encode()[:40] + raw)

    def action():
        specs = regress.plan(regress.load(path)[1], 1)
        assert specs and len(specs) <= 50

    _exit_2_or_plan(action)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # CI sees the same examples every run
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(change=BLOCK_FIELDS)
def test_fuzzed_block_files_load_or_are_one_line(fx, change):
    path = fx / "tb" / "fx" / "block.yaml"
    try:
        path.write_text(yaml.safe_dump({**BLOCK, **change}, allow_unicode=True))
    except yaml.YAMLError:
        return
    _exit_2_or_plan(lambda: load_block(path, projects.current()))
