"""Issue 18's goals judged on results.json (asicdv.tools.bench_goals), without a simulator."""

from asicdv.tools import bench_goals


def _row(workload: str, native_s: float, whole: float, simulation: float, o3_simulation: float) -> dict:
    return {
        "workload": workload,
        "native": {"wall_s": {"median": native_s}},
        "ratios": {
            "default": {"whole_process": whole, "simulation": simulation},
            "o3": {"whole_process": whole / 2, "simulation": o3_simulation},
        },
    }


def _regressions(smoke_batched_overhead: float, nightly_batched_wall: float) -> dict:
    return {
        "smoke": {
            "configs": {
                "warm_j1": {
                    "batched": {
                        "overhead_per_run_s": 0.3,  # the whole regression's, server starts included
                        "run_overhead": {
                            "in_batch_median_s": smoke_batched_overhead,
                            "in_batch_runs": 49,
                            "server_start_median_s": 1.4,
                        },
                    }
                }
            }
        },
        "nightly": {"configs": {"warm_j2": {"batched": {"wall_s": nightly_batched_wall}}}},
    }


def test_verdicts_follow_the_figure_and_the_direction_of_the_goal():
    assert bench_goals.verdict(0.05, "<=", 0.05) == "met"
    assert bench_goals.verdict(0.051, "<=", 0.05) == "not met"
    assert bench_goals.verdict(3.0, ">=", 3.0) == "met"
    assert bench_goals.verdict(2.99, ">=", 3.0) == "not met"
    assert bench_goals.verdict(None, ">=", 3.0) == "not measured"


def test_goals_come_from_the_measured_results():
    results = {
        "overhead": [_row("short", 0.1, 0.1, 0.9, 0.85), _row("long", 1.5, 0.7, 0.95, 0.6)],
        "regressions": _regressions(0.04, 103.2),
        "make_test": {"first_s": 80.0, "warm_s": 61.0},
        "block_figures": {
            "sha256": {
                "hypothesis through the core, RandomMessagesTest (median of 5 seeds)": {"value": 240},
                "the same property on models.sha256 alone (median)": {"value": 300},
                "through the core, % of the model alone (goal >= 80%: met)": {"value": 80.0},
            }
        },
    }
    goals = bench_goals.evaluate(results)
    assert goals["per_run_overhead"]["verdict"] == "met" and goals["per_run_overhead"]["value"] == 0.04
    assert "49 runs" in goals["per_run_overhead"]["source"] and "is 0.3 s" in goals["per_run_overhead"]["source"]
    # 206.4 s / 103.2 s = 2x: short of 3x
    assert goals["nightly_speedup"]["value"] == 2.0 and goals["nightly_speedup"]["verdict"] == "not met"
    # only the workload of >= 1 s native counts for the whole-process goal
    assert goals["whole_process_ratio"]["value"] == 0.7 and "long" in goals["whole_process_ratio"]["source"]
    assert goals["whole_process_ratio"]["verdict"] == "not met"
    # every workload counts for the -O3 simulation goal: the lowest decides
    assert goals["simulation_ratio_o3"]["value"] == 0.6 and goals["simulation_ratio_o3"]["verdict"] == "not met"
    assert goals["make_test_warm"]["verdict"] == "not met"
    assert goals["hypothesis_ratio"]["value"] == 0.8 and goals["hypothesis_ratio"]["verdict"] == "met"
    assert "240 examples/s through the core / 300" in goals["hypothesis_ratio"]["source"]


def test_a_goal_without_its_figure_is_not_measured_not_met():
    goals = bench_goals.evaluate({"overhead": [_row("short", 0.1, 0.1, 0.9, 0.85)]})
    assert goals["whole_process_ratio"]["verdict"] == "not measured"
    assert "no workload" in goals["whole_process_ratio"]["source"]
    assert goals["simulation_ratio_o3"]["verdict"] == "met"
    untimed = ("per_run_overhead", "nightly_speedup", "make_test_warm", "hypothesis_ratio")
    assert {goals[k]["verdict"] for k in untimed} == {"not measured"}


def test_rows_from_before_the_o3_build_count_for_the_default_build_only():
    old = {"workload": "old", "native": {"wall_s": {"median": 2.0}}, "ratio": 0.5, "ratio_after_startup": 0.9}
    assert bench_goals.ratio(old, "default", "whole_process") == 0.5
    assert bench_goals.ratio(old, "default", "simulation") == 0.9
    assert bench_goals.ratio(old, "o3", "simulation") is None
