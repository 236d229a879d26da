"""asicdv regress end to end on the real sha256 block: hang/crash/assert fixtures, kill and resume,
Dask against local, the gate, and the HTML report in a real headless browser."""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asicdv import project
from asicdv.tools import cli, regress

ROOT = project.current().root

FIXTURES = (
    "{block: sha256, module: selftest.misbehave, tests: [Hangs, Crashes, FailsAnAssertion], seeds: [3], timeout_s: 5}"
)


def regression(tmp_path, *entries, name="r.yaml"):
    path = tmp_path / name
    path.write_text("entries:\n" + "".join(f"  - {e}\n" for e in entries))
    return path


def results_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """A regression where one test hangs, one crashes the simulator and one fails, next to passing ones."""
    tmp = tmp_path_factory.mktemp("broken")
    path = regression(
        tmp,
        "{block: sha256, tests: [FipsExamplesTest, NistShortMsgTest], seeds: [1]}",
        FIXTURES,
    )
    out = tmp / "out"
    code = cli.main(["regress", str(path), "--out", str(out), "-j", "2"])
    return code, out, json.loads((out / "summary.json").read_text())


def test_hang_crash_and_failure_are_each_reported_while_the_rest_pass(broken):
    code, out, summary = broken
    assert code == 1
    status = {r["test"]: r["status"] for r in summary["runs"]}
    assert status == {
        "FipsExamplesTest": "pass",
        "NistShortMsgTest": "pass",
        "Hangs": "fail",
        "Crashes": "fail",
        "FailsAnAssertion": "fail",
    }
    signatures = {b["tests"][0].split("/")[-1]: b["signature"] for b in summary["buckets"]}
    assert signatures["Hangs"] == "simulation hung: killed after <n> s wall-clock"
    assert "no result for <test> (crash?)" in signatures["Crashes"]
    assert signatures["FailsAnAssertion"] == "deliberate mismatch <hex> != <hex>"
    for run in summary["runs"]:
        assert (out / run["log"]).exists()
        if run["status"] == "fail":  # rerun with waves on: the waveform is linked from the result
            assert run["waves_rerun"]["status"] == "fail" and (out / run["waves"]).exists()
            assert run["reproduce"].endswith(f"--seed {summary['seed']} --filter {shlex.quote(run['id'])}")
    assert (out / next(r["waves"] for r in summary["runs"] if r["test"] == "FailsAnAssertion")).stat().st_size > 0
    assert summary["builds"]["sha256[default]"]["error"] is None


def test_gate_fails_on_the_injected_failures(broken, capsys):
    _, out, _ = broken
    assert cli.main(["gate", str(out)]) == 1
    assert re.search(r"FAIL\s+pass rate\s+40.00%", capsys.readouterr().out)


def test_clean_regression_passes_the_gate_warm_rerun_builds_nothing_and_rerun_failed(tmp_path, capsys):
    path = regression(tmp_path, "{block: sha256, tests: [FipsExamplesTest], seeds: [1, 2]}")
    out = tmp_path / "out"
    assert cli.main(["regress", str(path), "--out", str(out)]) == 0
    assert cli.main(["regress", str(path), "--out", str(out)]) == 0  # warm: every build from the cache
    summary = json.loads((out / "summary.json").read_text())
    assert summary["builds"]["sha256[default]"]["cached"] and summary["previous"]["new_failures"] == []
    # Two runs of one test cannot close coverage: the gate here judges results, not coverage.
    rules = tmp_path / "gates.yaml"
    rules.write_text("complete: true\nmin_pass_rate: 100\nno_new_failures: true\nmax_wall_s: 600\n")
    assert cli.main(["gate", str(out), "--config", str(rules)]) == 0
    assert capsys.readouterr().out.strip().endswith("gate: PASS")
    assert summary["functional_coverage"]["coverpoints"]  # sha256 declares coverpoints: merged here
    # --rerun-failed with nothing failed runs nothing; a recorded failure is rerun with its seed.
    store = regress.ResultStore(out)
    store.append(
        {
            **store.load()["sha256.default.FipsExamplesTest.2"],
            "status": "fail",
            "message": "made up",
            "signature": "made up",
        }
    )
    regress.summarize(out)  # as if the last regression had recorded that failure
    assert cli.main(["regress", str(path), "--out", str(out), "--rerun-failed"]) == 0
    rerun = regress.ResultStore(out).load()["sha256.default.FipsExamplesTest.2"]
    assert rerun["status"] == "pass" and rerun["attempt"] == 2 and rerun["seed"] == 2
    assert json.loads((out / "summary.json").read_text())["previous"]["fixed"] == ["sha256/default/FipsExamplesTest"]


def _processes_under(folder: Path) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(str(folder)):
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_killed_regression_resumes_with_no_run_done_twice(tmp_path):
    path = regression(
        tmp_path,
        # Forty runs: batched runs take a tenth of a second, the regression must still be running.
        "{block: sha256, tests: [FipsExamplesTest, NistShortMsgTest], seeds: ["
        + ", ".join(map(str, range(1, 21)))
        + "]}",
    )
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "asicdv.tools.cli",
        "regress",
        str(path),
        "--out",
        str(out),
        "-j",
        "1",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "results.jsonl").exists() and (out / "results.jsonl").read_text().count("\n") >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, output
    assert "--resume" in output and _processes_under(out) == []  # no simulator left behind
    done_before = {r["id"] for r in results_lines(out)}
    assert 2 <= len(done_before) < 40
    assert cli.main(["regress", str(path), "--out", str(out), "-j", "2", "--resume"]) == 0
    ids = [r["id"] for r in results_lines(out)]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 40  # every run once
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["passed"] == 40 and [s["interrupted"] for s in summary["sessions"]] == [True, False]


def test_dask_executor_gives_the_same_results_as_local(tmp_path):
    path = regression(
        tmp_path,
        "{block: sha256, tests: [FipsExamplesTest, RandomMessagesTest], reseeds: 1}",
        "{block: sha256, module: selftest.misbehave, tests: [FailsAnAssertion], seeds: [4]}",
    )
    outcomes = {}
    for executor in ("local", "dask"):
        out = tmp_path / executor
        cli.main(
            [
                "regress",
                str(path),
                "--out",
                str(out),
                "--executor",
                executor,
                "--seed",
                "77",
                "--max-waves",
                "0",
            ]
        )
        summary = json.loads((out / "summary.json").read_text())
        outcomes[executor] = sorted((r["id"], r["status"], r["signature"], r["sim_time_ns"]) for r in summary["runs"])
    assert len(outcomes["local"]) == 3 and outcomes["local"] == outcomes["dask"]


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    _chromium() is None,
    reason="chromium not installed (apt-get install chromium; .ci/run does)",
)
def test_report_renders_in_headless_chromium_with_the_json_numbers(broken, tmp_path):
    _, out, summary = broken
    dom = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path}",
            "--dump-dom",
            (out / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout

    def number(element_id):
        return re.search(rf'id="{element_id}"[^>]*>([\d.]+)', dom).group(1)

    counts = summary["counts"]
    assert int(number("planned-runs")) == counts["planned"] == 5
    assert int(number("passed-runs")) == counts["passed"] and int(number("failed-runs")) == counts["failed"]
    assert float(number("pass-rate")) == summary["pass_rate"] and int(number("bucket-count")) == len(summary["buckets"])
    assert dom.count('<tr class="run"') == len(summary["runs"])
    assert dom.count('data-status="fail"') == counts["failed"]
    assert "<svg" in dom  # the duration plot rendered inline


def test_a_failed_build_fails_only_the_runs_that_need_it(tmp_path, monkeypatch):
    real_build = regress.sim.build

    def build(block, variant="default", *, waves=False, overrides=None):
        if block.name == "kpu":  # stands for a Verilator error in that configuration
            raise regress.sim.BuildError(
                f"build of kpu {overrides} failed (verilator exit 1); log: {tmp_path}/build.log\n%Error"
            )
        return real_build(block, variant, waves=waves, overrides=overrides)

    monkeypatch.setattr(regress.sim, "build", build)
    path = regression(
        tmp_path,
        "{block: sha256, tests: [FipsExamplesTest], seeds: [1]}",
        "{block: kpu, tests: [ExtremesTest], seeds: [1, 2], parameters: {ROWS: 2}}",
    )
    assert cli.main(["regress", str(path), "--out", str(tmp_path / "out")]) == 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    status = {r["id"]: (r["status"], r["log"]) for r in summary["runs"]}
    assert status["sha256.default.FipsExamplesTest.1"][0] == "pass"
    assert status["kpu.default-ROWS2.ExtremesTest.1"] == (
        "fail",
        f"{tmp_path}/build.log",
    )
    assert [b["count"] for b in summary["buckets"]] == [2] and summary["builds"]["kpu[default-ROWS2]"]["error"]


def test_failing_hypothesis_examples_are_kept_and_replayed_first(tmp_path):
    entry = "{block: sha256, module: selftest.misbehave, tests: [PropertyFailsAboveLimit], seeds: [%d]%s}"
    out = tmp_path / "out"
    first = regression(tmp_path, entry % (5, ""), name="first.yaml")
    assert cli.main(["regress", str(first), "--out", str(out), "--max-waves", "0"]) == 1
    message = regress.ResultStore(out).load()["sha256.default.PropertyFailsAboveLimit.5"]["message"]
    assert "minimal input 900000" in message
    assert not message.count("first failure at example 1;")  # without replay: found by search
    database = out / "hypothesis" / "sha256" / "PropertyFailsAboveLimit"
    assert any(p.is_file() for p in database.rglob("*"))  # hypothesis's own example database
    # A later run of the same seed with replay: true tries the saved minimal example first.
    again = regression(tmp_path, entry % (5, ", replay: true"), name="again.yaml")
    assert cli.main(["regress", str(again), "--out", str(out), "--max-waves", "0"]) == 1
    message = regress.ResultStore(out).load()["sha256.default.PropertyFailsAboveLimit.5"]["message"]
    assert "minimal input 900000" in message and "first failure at example 1;" in message


def test_coverage_entry_merges_code_coverage_and_the_gate_judges_it(tmp_path, capsys):
    path = regression(
        tmp_path,
        "{block: sha256, tests: [FipsExamplesTest, NistShortMsgTest], seeds: [1], coverage: true}",
        "{block: crc32, formal: true, tasks: [handshake]}",  # the merge runs while it does
    )
    out = tmp_path / "out"
    assert cli.main(["regress", str(path), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    figures = next(iter(summary["code_coverage"]["summary"].values()))
    assert 0 < figures["line"] <= 100 and (out / summary["code_coverage"]["html"]).exists()
    assert summary["formal"]["counts"]["done"] == 1
    specs = [regress.RunSpec(**fields) for fields in json.loads((out / "plan.json").read_text())["runs"]]
    records = regress.ResultStore(out).load()
    merged_after = regress.merge_code_coverage(out, specs, [records[s.id] for s in specs])
    assert summary["code_coverage"] == merged_after  # as merged after everything
    assert [s for s in summary["builds"]] == ["sha256[default] coverage"]
    # The per-test line index for a later --changed-since --coverage-from, at the checkout's commit.
    reach = json.loads((out / "test-reach.json").read_text())
    assert sorted(reach["tests"]) == ["sha256/default/FipsExamplesTest", "sha256/default/NistShortMsgTest"]
    assert reach["commit"] == json.loads((out / "plan.json").read_text())["commit"] and reach["commit"]
    assert reach["tests"]["sha256/default/FipsExamplesTest"]["lines"]["rtl/sha256/sha256_core.v"]
    rules = tmp_path / "gates.yaml"
    rules.write_text("code_coverage: {line: 100}\n")
    capsys.readouterr()
    code = cli.main(["gate", str(out), "--config", str(rules)])
    text = capsys.readouterr().out
    assert re.search(r"(PASS|FAIL)\s+code coverage \S+ line\s+[\d.]+% \(need >= 100", text)
    assert code == (0 if figures["line"] >= 100 else 1)


def test_icarus_entry_runs_on_icarus_next_to_verilator(tmp_path):
    if shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog not installed (apt-get install iverilog)")
    path = regression(
        tmp_path,
        "{block: sha256, tests: [FipsExamplesTest], seeds: [1], simulator: icarus}",
        "{block: sha256, tests: [FipsExamplesTest], seeds: [1]}",
    )
    out = tmp_path / "out"
    assert cli.main(["regress", str(path), "--out", str(out)]) == 0
    records = regress.ResultStore(out).load()
    assert set(records) == {"sha256.default-icarus.FipsExamplesTest.1", "sha256.default.FipsExamplesTest.1"}
    assert "Running on Icarus" in (out / records["sha256.default-icarus.FipsExamplesTest.1"]["log"]).read_text()
    assert "Running on Icarus" not in (out / records["sha256.default.FipsExamplesTest.1"]["log"]).read_text()
