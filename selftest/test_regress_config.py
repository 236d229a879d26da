"""Regression files, planning, buckets, summary, report and gate, without a simulator."""

import json
import re

import pytest

from asicdv import UserError, project
from asicdv.tools import cli, regress, report
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import all_blocks

SHIPPED = sorted(p.stem for p in project.current().regressions.glob("*.yaml") if p.stem not in regress.NOT_REGRESSIONS)


def write(tmp_path, text, name="r.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_regressions_validate_and_plan(name):
    _, entries = regress.load(regress.resolve(name))
    specs = regress.plan(entries, 1)
    assert specs and len({s.id for s in specs}) == len(specs)


def test_shipped_regressions_cover_what_the_issue_names():
    assert {"smoke", "nightly", "sha256", "sha256d", "kpu"} <= set(SHIPPED)
    nightly = regress.plan(regress.load(regress.resolve("nightly"))[1], 1)
    blocks = all_blocks()
    for name, block in blocks.items():  # every test of every block, every variant
        for variant in block.variants:
            ran = {s.test for s in nightly if s.block == name and s.variant == variant and not s.parameters}
            assert ran == {t.name for t in block.tests}, (name, variant)
    assert any(s.block == "kpu" and s.parameters == {"COLS": 4, "ROWS": 4} for s in nightly)
    smoke = regress.plan(regress.load(regress.resolve("smoke"))[1], 1)
    assert {(s.block, s.test) for s in smoke} == {
        (b, t.name) for b, blk in blocks.items() for t in blk.tests if t.smoke
    }


@pytest.mark.parametrize(
    "entry, problem",
    [
        ("{block: nosuch}", "entry 1: unknown block 'nosuch'"),
        (
            "{block: sha256, tests: [NoSuchTest]}",
            "entry 1: unknown test 'NoSuchTest' for block sha256",
        ),
        (
            "{block: sha256d, variants: [fast]}",
            "entry 1: unknown variant 'fast' for block sha256d",
        ),
        (
            "{block: kpu, parameters: {DEPTH: 4}}",
            "entry 1: unknown parameter 'DEPTH' for block kpu",
        ),
        (
            "{block: kpu, parameters: {ROWS: four}}",
            "entry 1: parameters.ROWS: 'four' is not of type 'integer'",
        ),
        (
            "{block: sha256, seeds: [-1]}",
            "entry 1: seeds.0: -1 is less than the minimum of 0",
        ),
        (
            "{block: sha256, seeds: [abc]}",
            "entry 1: seeds.0: 'abc' is not of type 'integer'",
        ),
        ("{block: sha256, tets: all}", "entry 1: unknown key 'tets'"),
        (
            "{block: sha256, sweep: [ROUNDS]}",
            "entry 1: sweep 'ROUNDS': sha256 declares no legal values for it (block.yaml parameters: in",
        ),
        (
            "{block: sha256d, sweep: [FIFO_DEPTH], parameters: {FIFO_DEPTH: 3}}",
            "entry 1: 'FIFO_DEPTH' is both fixed (parameters) and swept (sweep)",
        ),
        (
            "{block: sha256d, parameters: {FIFO_DEPTH: 4}}",
            "entry 1: FIFO_DEPTH=4 is not a legal value for sha256d (legal: [1, 2, 3, 5, 8, 16])",
        ),
        ("{block: all, sweep: [ROWS]}", "entry 1: block: all takes no sweep (name one block)"),
        (
            "{block: sha256, seeds: [1], reseeds: 2}",
            "entry 1: give either 'seeds' or 'reseeds', not both",
        ),
        ("{tests: all}", "entry 1: 'block' is a required property"),
        (
            "{block: sha256, tests: [Nope], module: selftest.misbehave}",
            "entry 1: module selftest.misbehave has no cocotb test",
        ),
        (
            "{block: sha256, timeout_s: 0}",
            "entry 1: timeout_s: 0 is less than or equal to the minimum of 0",
        ),
    ],
)
def test_malformed_entry_names_file_entry_and_problem(tmp_path, entry, problem):
    path = write(
        tmp_path,
        f"entries:\n  - {{block: sha256}}\n  - {entry}\n".replace("entry 1", "entry 2"),
    )
    expected = problem.replace("entry 1", "entry 2")
    with pytest.raises(UserError) as info:
        regress.plan(regress.load(path)[1], 1)
    assert str(info.value).startswith(f"{path}: {expected}"), str(info.value)


def test_malformed_file_exits_2_with_one_line_and_starts_nothing(tmp_path, capsys):
    path = write(
        tmp_path,
        "entries:\n  - {block: sha256, tests: [FipsExamplesTest], sedes: [1]}\n",
    )
    out = tmp_path / "out"
    assert cli.main(["regress", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == f"asicdv: error: {path}: entry 1: unknown key 'sedes' (allowed: {', '.join(regress.ENTRY_PROPERTIES)})"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "text, problem",
    [
        ("entries: [", "not valid YAML"),
        ("- just a list", "a regression file is a YAML mapping"),
        ("description: nothing", "a regression file needs 'entries' or 'include'"),
        ("entries: []\nextra: 1", "unknown key 'extra'"),
        ("include: [missing.yaml]", "include 'missing.yaml': no such file"),
    ],
)
def test_malformed_file_level_problems(tmp_path, text, problem):
    with pytest.raises(UserError, match=re.escape(problem)):
        regress.load(write(tmp_path, text))


def test_unknown_regression_name_lists_the_known_ones():
    with pytest.raises(UserError, match=r"unknown regression 'nigthly'; known in .*regressions: .*nightly.*smoke"):
        regress.resolve("nigthly")


def test_include_is_relative_and_cycles_are_refused(tmp_path):
    (tmp_path / "sub").mkdir()
    write(
        tmp_path / "sub",
        "entries: [{block: sha256, tests: [FipsExamplesTest], seeds: [5]}]",
        "inner.yaml",
    )
    outer = write(
        tmp_path,
        "include: [sub/inner.yaml]\nentries: [{block: sha256, tests: [NistShortMsgTest]}]",
    )
    specs = regress.plan(regress.load(outer)[1], 1)
    assert (specs[0].test, specs[0].seed) == ("FipsExamplesTest", 5) and len(specs) == 2
    write(tmp_path, "include: [b.yaml]", "a.yaml")
    write(tmp_path, "include: [a.yaml]", "b.yaml")
    with pytest.raises(UserError, match="include cycle"):
        regress.load(tmp_path / "a.yaml")


def test_seeds_follow_the_master_seed(tmp_path):
    path = write(tmp_path, "entries: [{block: sha256, tests: [RandomMessagesTest], reseeds: 4}]")
    entries = regress.load(path)[1]
    first, again, other = (regress.plan(entries, s) for s in (11, 11, 12))
    assert [s.seed for s in first] == [s.seed for s in again]
    assert len({s.seed for s in first}) == 4 and {s.seed for s in first}.isdisjoint({s.seed for s in other})


def test_defaults_parameters_and_ids(tmp_path):
    text = """defaults: {timeout_s: 30, replay: true}
entries:
  - {block: kpu, tests: [ExtremesTest], seeds: [3], parameters: {ROWS: 4, COLS: 8}}
  - {block: kpu, tests: [ExtremesTest], seeds: [3]}
  - {block: kpu, tests: [ExtremesTest], seeds: [3], parameters: {ROWS: 8}}
"""
    specs = regress.plan(regress.load(write(tmp_path, text))[1], 1)
    # COLS=8 and ROWS=8 are the variant's own values: not overrides, and the third entry is a duplicate.
    assert [s.id for s in specs] == [
        "kpu.default-ROWS4.ExtremesTest.3",
        "kpu.default.ExtremesTest.3",
    ]
    assert specs[0].parameters == {"ROWS": 4} and specs[0].timeout_s == 30 and specs[0].replay
    assert specs[0].config == "kpu[default-ROWS4]"


def test_sweep_runs_every_legal_value_of_a_parameter(tmp_path):
    """`sweep:` is one set of runs per legal value (block.yaml `parameters:`), each its own
    configuration (build), with the entry's fixed parameters kept; seeds derive per configuration."""
    text = """entries:
  - {block: sha256d, variants: [iterative], tests: [FifoFullWhileHashingTest], reseeds: 1, sweep: [FIFO_DEPTH]}
  - {block: kpu, tests: [ExtremesTest], seeds: [3], parameters: {COLS: 1}, sweep: [ROWS]}
"""
    specs = regress.plan(regress.load(write(tmp_path, text))[1], 1)
    fifo = [s for s in specs if s.block == "sha256d"]
    # the variant does not name FIFO_DEPTH, so even the RTL's default 8 is an explicit override
    assert sorted(s.parameters["FIFO_DEPTH"] for s in fifo) == [1, 2, 3, 5, 8, 16]
    assert len({s.seed for s in fifo}) == 6 and len({s.config for s in fifo}) == 6
    kpu = sorted((s.parameters.get("ROWS", 8), s.parameters["COLS"]) for s in specs if s.block == "kpu")
    assert kpu == [(1, 1), (2, 1), (3, 1), (4, 1), (8, 1)]
    assert "kpu.default-COLS1.ExtremesTest.3" in {s.id for s in specs}  # ROWS 8 is the variant's own value
    assert "kpu.default-COLS1-ROWS4.ExtremesTest.3" in {s.id for s in specs}


def test_filter_matches_test_key_or_id():
    spec = regress.RunSpec(
        "sha256d.pipelined.RandomJobsTest.7",
        "sha256d",
        "pipelined",
        {},
        "RandomJobsTest",
        7,
    )
    assert regress.matches(spec, "Random*") and regress.matches(spec, "sha256d/pipelined/*")
    assert regress.matches(spec, "*.7") and not regress.matches(spec, "sha256/*")


def test_hypothesis_examples_are_kept_per_test_and_replayed_on_request(tmp_path):
    spec = regress.RunSpec("x", "sha256", "default", {}, "RandomMessagesTest", 1)
    env = regress.hypothesis_env(tmp_path, spec)
    assert env == {"ASICDV_HYPOTHESIS_DB": str(tmp_path / "hypothesis" / "sha256" / "RandomMessagesTest")}
    replaying = regress.RunSpec("x", "sha256", "default", {}, "RandomMessagesTest", 1, replay=True)
    assert regress.hypothesis_env(tmp_path, replaying)["ASICDV_HYPOTHESIS_REPLAY"] == "1"


def test_coverage_and_other_simulators_only_when_the_build_supports_them(tmp_path):
    for entry, option in (
        ("coverage: true", "coverage"),
        ("simulator: icarus", "simulator"),
    ):
        path = write(tmp_path, f"entries: [{{block: sha256, {entry}}}]")
        if regress.build_accepts(option):
            assert regress.plan(regress.load(path)[1], 1)
        else:
            with pytest.raises(UserError, match="entry 1: .*(coverage|icarus)"):
                regress.plan(regress.load(path)[1], 1)


@pytest.mark.parametrize(
    "message, bucket",
    [
        ("simulation hung: killed after 900 s wall-clock\nlog tail", "simulation hung: killed after <n> s wall-clock"),
        (
            "mismatch at 0x1f: expected e3b0c442 got 3f4fc9b1 in /work/x/results/a.log",
            "mismatch at <hex>: expected <hex> got <hex> in <path>",
        ),
        ("", "(no message)"),
    ],
)
def test_signature_strips_numbers_hex_and_paths(message, bucket):
    assert regress.signature(message) == bucket


def test_signatures_of_two_seeds_of_one_bug_are_equal():
    first = regress.signature("sha256 message transaction 3 (input 0a0b): mismatch\n expected: 0x12")
    second = regress.signature("sha256 message transaction 17 (input ff00aa): mismatch\n expected: 0x99")
    assert first == second


def test_one_bug_in_two_tests_is_one_bucket_listing_both(tmp_path):
    """The test's name is no part of the signature: a crash in two tests is one bucket."""
    first = regress.signature("simulator exited with code -6 and no result for Crashes (crash?)", "Crashes")
    other = regress.signature("simulator exited with code -6 and no result for HashesTest (crash?)", "HashesTest")
    assert first == other == "simulator exited with code <n> and no result for <test> (crash?)"
    records = [
        {"status": "fail", "signature": sig, "key": f"sha256/default/{test}", "message": "m", "id": test, "seed": 1}
        for sig, test in ((first, "Crashes"), (other, "HashesTest"))
    ]
    (bucket,) = regress.buckets(records)
    assert bucket["count"] == 2 and bucket["tests"] == ["sha256/default/Crashes", "sha256/default/HashesTest"]


def test_console_bucket_line_keeps_the_numbers_and_stays_short():
    from asicdv.tools.regress.results import first_line

    message = "mismatch at beat 17: expected 0x1f got 0x2e " + "x" * 400 + "\ntraceback..."
    line = first_line(message)
    assert line.startswith("mismatch at beat 17: expected 0x1f got 0x2e") and "<n>" not in line
    assert len(line) == 160 and line.endswith("\u2026") and "traceback" not in line


def test_result_store_keeps_the_last_record_and_skips_a_torn_line(tmp_path):
    store = regress.ResultStore(tmp_path)
    store.append({"id": "a", "status": "fail"})
    store.append({"id": "b", "status": "pass"})
    store.append({"id": "a", "status": "pass"})
    with open(store.path, "a") as stream:
        stream.write('{"id": "c", "sta')  # a kill in the middle of a write
    assert {k: v["status"] for k, v in store.load().items()} == {
        "a": "pass",
        "b": "pass",
    }


# ---------------------------------------------------------------- summary, report, gate from fake results


def fake_results(out, statuses, coverage=None, previous=None, wall=12.0):
    """A results folder as asicdv regress leaves it, with made-up runs."""
    out.mkdir(parents=True, exist_ok=True)
    specs = [
        regress.RunSpec(f"sha256.default.T{i}.{i}", "sha256", "default", {}, f"T{i}", i) for i in range(len(statuses))
    ]
    (out / "plan.json").write_text(
        json.dumps(
            {
                "regression": "fake",
                "file": "fake.yaml",
                "seed": 9,
                "created": "now",
                "runs": [s.__dict__ for s in specs],
            }
        )
    )
    store = regress.ResultStore(out)
    for spec, status in zip(specs, statuses, strict=True):
        if status is None:
            continue  # no result yet
        message = "" if status == "pass" else f"mismatch at {spec.seed}"
        store.append(
            {
                "id": spec.id,
                "key": spec.key,
                "block": "sha256",
                "variant": "default",
                "parameters": {},
                "test": spec.test,
                "seed": spec.seed,
                "config": spec.config,
                "status": status,
                "message": message,
                "signature": regress.signature(message) if message else None,
                "log": f"runs/{spec.id}/sim.log",
                "waves": None,
                "wall_s": 1.5 + spec.seed,
                "sim_time_ns": 100.0,
                "reproduce": f"make sha256 TEST={spec.test} SEED={spec.seed}",
                "functional_coverage": (coverage or {}).get(spec.seed),
                "flaky": False,
            }
        )
    (out / "sessions.jsonl").write_text(
        json.dumps(
            {
                "mode": "fresh",
                "started": "now",
                "wall_s": wall,
                "executor": "local",
                "jobs": 2,
                "interrupted": False,
            }
        )
        + "\n"
    )
    if previous is not None:
        (out / "previous-summary.json").write_text(json.dumps(previous))
    return regress.summarize(out)


def test_summary_counts_buckets_and_merges_functional_coverage(tmp_path):
    coverage = {
        0: {"opcode": {"add": 2, "sub": 0}, "len": {"0": 1}},
        2: {"opcode": {"add": 1, "sub": 0}},
    }
    summary = fake_results(tmp_path, ["pass", "fail", "pass", "fail", None], coverage=coverage)
    assert summary["counts"] == {
        "planned": 5,
        "done": 4,
        "passed": 2,
        "failed": 2,
        "infrastructure": 0,
        "missing": 1,
        "flaky": 0,
    }
    assert summary["pass_rate"] == 50.0
    assert [(b["signature"], b["count"]) for b in summary["buckets"]] == [("mismatch at <n>", 2)]
    assert summary["buckets"][0]["runs"][0]["reproduce"] == "make sha256 TEST=T1 SEED=1"
    points = summary["functional_coverage"]["coverpoints"]
    assert points["sha256/opcode"]["hits"] == {"add": 3, "sub": 0} and points["sha256/opcode"]["holes"] == ["sub"]
    assert points["sha256/opcode"]["percent"] == 50.0
    assert summary["functional_coverage"]["percent"] == pytest.approx(66.67)


def test_comparison_with_the_previous_run(tmp_path):
    before = fake_results(tmp_path / "a", ["fail", "pass", "pass"])
    after = fake_results(tmp_path / "b", ["pass", "fail", "pass"], previous=before)
    assert after["previous"]["new_failures"] == ["sha256/default/T1"]
    assert after["previous"]["fixed"] == ["sha256/default/T0"]


def test_report_is_self_contained_and_shows_the_numbers(tmp_path):
    summary = fake_results(
        tmp_path,
        ["pass", "fail", "pass"],
        coverage={0: {"opcode": {"add": 1, "sub": 0}}},
    )
    report.write_all(tmp_path, summary)
    html = (tmp_path / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "external resource in the report"
    assert "<svg" in html and 'id="passed-runs" class="pass">2<' in html and 'id="failed-runs" class="fail">1<' in html
    assert "make sha256 TEST=T1 SEED=1" in html and "sub" in html


def test_junit_has_one_testcase_per_run_with_properties(tmp_path):
    import xml.etree.ElementTree as ET

    summary = fake_results(tmp_path, ["pass", "fail", None])
    report.write_junit(tmp_path / "junit.xml", summary)
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 3 and suite.get("failures") == "1" and suite.get("skipped") == "1"
    props = {p.get("name"): p.get("value") for p in cases[1].iter("property")}
    assert props["seed"] == "1" and props["reproduce"] == "make sha256 TEST=T1 SEED=1" and "log" in props
    assert cases[1].find("failure").get("message") == "mismatch at <n>"


def run_gate(tmp_path, out, config_text, capsys, *extra):
    config = write(tmp_path, config_text, "gates.yaml")
    code = cli.main(["gate", str(out), "--config", str(config), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_gate_passes_a_clean_run_and_prints_each_rule(tmp_path, capsys):
    fake_results(tmp_path / "out", ["pass", "pass"])
    code, text = run_gate(
        tmp_path,
        tmp_path / "out",
        project.current().regressions.joinpath("gates.yaml").read_text(),
        capsys,
    )
    assert code == 0, text
    assert re.search(r"PASS\s+pass rate\s+100.00%", text) and re.search(r"PASS\s+time budget\s+12.0 s", text)
    assert "functional coverage" in text and text.strip().endswith("gate: PASS")


def test_gate_fails_on_an_injected_failure(tmp_path, capsys):
    fake_results(tmp_path / "out", ["pass", "fail"])
    code, text = run_gate(
        tmp_path,
        tmp_path / "out",
        "min_pass_rate: 100\nno_new_failures: true\n",
        capsys,
    )
    assert code == 1
    assert re.search(r"FAIL\s+pass rate\s+50.00%", text) and re.search(r"FAIL\s+no new failures\s+1 new", text)


def test_gate_baseline_time_budget_completeness_and_coverage(tmp_path, capsys):
    baseline = fake_results(tmp_path / "base", ["pass", "fail", "pass"])
    fake_results(
        tmp_path / "out",
        ["pass", "fail", None],
        coverage={0: {"p": {"a": 1, "b": 0}}},
        wall=100,
    )
    config = "min_pass_rate: 0\nno_new_failures: true\nmax_wall_s: 50\n"
    config += "functional_coverage: {min_percent: 50, full: [sha256/p]}\n"
    code, text = run_gate(tmp_path, tmp_path / "out", config, capsys, "--baseline", str(tmp_path / "base"))
    assert code == 1 and baseline["counts"]["failed"] == 1
    assert re.search(r"PASS\s+no new failures\s+0 new", text)  # T1 failed in the baseline too
    assert re.search(r"FAIL\s+complete\s+2/3", text) and re.search(r"FAIL\s+time budget\s+100.0 s", text)
    assert re.search(r"PASS\s+functional coverage\s+50.00%", text) and re.search(
        r"FAIL\s+coverpoint sha256/p .*holes: b", text
    )


def test_gate_config_and_folder_errors_are_one_line(tmp_path, capsys):
    fake_results(tmp_path / "out", ["pass"])
    code, text = run_gate(tmp_path, tmp_path / "out", "min_pass_rat: 100\n", capsys)
    assert code == 2 and "Additional properties are not allowed ('min_pass_rat'" in text
    assert cli.main(["gate", str(tmp_path / "nowhere")]) == 2
    assert "no summary.json" in capsys.readouterr().err


def test_sim_keeps_a_registry_of_live_simulators():
    from asicdv.tools import run_server

    run_server.close_idle()  # this thread's idle simulator servers (an earlier test's) are in it too
    assert sim.kill_live_simulations() == 0  # nothing running here


def test_reproduce_command_carries_variant_and_parameters():
    blocks = all_blocks()
    spec = regress.RunSpec("kpu.default-ROWS4.ExtremesTest.3", "kpu", "default", {"ROWS": 4}, "ExtremesTest", 3)
    assert regress.reproduce_line(spec, blocks, "kpu", 1) == (
        "asicdv test kpu --test ExtremesTest --seed 3 --variant default --param ROWS=4"
    )
    variant = sorted(blocks["sha256d"].variants)[-1]
    spec = regress.RunSpec("x", "sha256d", variant, {}, "RealHeadersTest", 8)
    assert f"--variant {variant}" in regress.reproduce_line(spec, blocks, "sha256d", 1)


def test_block_all_is_every_block_and_takes_no_block_specific_field(tmp_path):
    specs = regress.plan(regress.load(write(tmp_path, "entries: [{block: all, tests: smoke, reseeds: 1}]"))[1], 1)
    blocks = all_blocks()
    assert {s.block for s in specs} == set(blocks)
    assert {(s.block, s.variant) for s in specs} == {(b, v) for b, blk in blocks.items() for v in blk.variants}
    with pytest.raises(UserError, match="entry 1: block: all takes no a list of tests, parameters"):
        regress.plan(regress.load(write(tmp_path, "entries: [{block: all, tests: [A], parameters: {X: 1}}]"))[1], 1)


def test_another_simulator_or_a_coverage_build_is_another_run(tmp_path):
    text = "entries:\n" + "".join(
        f"  - {{block: sha256, tests: [FipsExamplesTest], seeds: [1]{extra}}}\n"
        for extra in ("", ", simulator: icarus", ", coverage: true", ", simulator: verilator")
    )
    specs = regress.plan(regress.load(write(tmp_path, text))[1], 1)
    assert [s.id for s in specs] == [
        "sha256.default.FipsExamplesTest.1",
        "sha256.default-icarus.FipsExamplesTest.1",
        "sha256.default-cov.FipsExamplesTest.1",
    ]
    assert len({s.key for s in specs}) == 3 and len({s.config for s in specs}) == 3
