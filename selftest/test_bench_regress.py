"""The regression figures' arithmetic (asicdv.tools.bench_regress), without a simulator."""

import pytest

from asicdv.tools import bench_regress


def test_run_counts_from_the_summary_json():
    summary = {"counts": {"planned": 50, "done": 49, "passed": 47, "failed": 1, "infrastructure": 1, "missing": 1}}
    assert bench_regress.run_counts(summary) == {"passed": 47, "failed": 2, "without_result": 1, "runs": 50}
    assert bench_regress.run_counts({})["runs"] == 0


def test_runs_per_core_hour_counts_the_cores_a_regression_can_use():
    assert bench_regress.runs_per_core_hour(50, 36.0, 1, 2) == pytest.approx(5000)
    assert bench_regress.runs_per_core_hour(50, 36.0, 2, 2) == pytest.approx(2500)
    assert bench_regress.runs_per_core_hour(50, 36.0, 8, 2) == pytest.approx(2500)  # 2 CPUs only


def test_overhead_per_run_is_what_the_tests_did_not_use():
    assert bench_regress.overhead_per_run(10.0, 1, 2, [1.0, 2.0, 3.0], 4) == pytest.approx(1.0)
    assert bench_regress.overhead_per_run(10.0, 2, 2, [1.0, 2.0, 3.0], 4) == pytest.approx(3.5)
    assert bench_regress.overhead_per_run(10.0, 1, 2, [], 4) is None


def test_test_seconds_from_results_xml(tmp_path):
    run = tmp_path / "runs" / "a" / "attempt-1"
    run.mkdir(parents=True)
    (run / "results-x.xml").write_text(
        '<testsuites><testsuite><testcase name="T" time="0.25"/><testcase name="U" time="0.5"/>'
        "</testsuite></testsuites>"
    )
    (run / "results-broken.xml").write_text("<testsuites>")
    assert bench_regress.test_seconds(tmp_path) == [0.25, 0.5]
