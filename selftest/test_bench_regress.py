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


def test_side_by_side_pairs_each_configuration_fresh_then_batched(monkeypatch, tmp_path):
    """The nightly's assembly (warm-up, reference, both modes, speed-up), the regressions stubbed."""
    calls = []

    def fake_regress(name, build_root, workers, seed, mode, cold):
        calls.append((name, workers, mode, cold))
        return {
            "wall_s": 100.0 if mode == "fresh" else 40.0,
            "runs": 254,
            "runs_per_core_hour": 1,
            "overhead_per_run_s": 0.1,
            "out": tmp_path,
        }

    monkeypatch.setattr(bench_regress, "regress", fake_regress)
    monkeypatch.setattr(bench_regress, "warm_builds", lambda name, root: 12.34)
    figures = bench_regress.side_by_side("nightly", tmp_path, 7, lambda message: None)
    assert calls == [("nightly", 2, "fresh", False), ("nightly", 2, "batched", False)]
    assert figures["warm_up_s"] == 12.3 and figures["reference"]["wall_s"] == 206.4
    pair = figures["configs"]["warm_j2"]
    assert pair["speedup"] == 2.5 and "out" not in pair["fresh"]


def test_a_cold_configuration_gets_an_empty_build_root_per_mode(monkeypatch, tmp_path):
    roots = []

    def fake_regress(name, build_root, workers, seed, mode, cold):
        roots.append(build_root)
        stamp = build_root / "blk" / "default-1" / "build.ok"
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text("{}")
        return {"wall_s": 1.0, "runs": 1, "runs_per_core_hour": 1, "overhead_per_run_s": 0.1, "out": tmp_path}

    monkeypatch.setattr(bench_regress, "regress", fake_regress)
    monkeypatch.setattr(bench_regress, "CONFIGS", {"smoke": ((True, 2),)})
    bench_regress.side_by_side("smoke", tmp_path / "root", 7, lambda message: None)
    assert roots[0] == tmp_path / "root" and roots[1] != roots[0]
    assert not roots[1].exists()  # the second cold root is removed; the first is the bench's
