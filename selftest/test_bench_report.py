"""bench/README.md from results.json (asicdv.tools.bench_report), without a simulator."""

import json

from asicdv.tools import bench_report


def test_report_marks_unmet_goals_with_the_shortfall(tmp_path):
    """The goal is judged on the simulation ratio; the whole-process ratio is shown beside it."""
    row = {
        "workload": "w",
        "cocotb": {
            "cycles": 100,
            "wall_s": {"runs": [1.0], "min": 1.0, "median": 1.0},
            "cycles_per_s": 100,
            "startup_s": {"runs": [0.5], "min": 0.5, "median": 0.5},
            "answer_wall_s": {"runs": [0.5], "min": 0.5, "median": 0.5},
            "cycles_per_s_after_startup": 200,
        },
        "native": {"cycles": 100, "wall_s": {"runs": [0.1], "min": 0.1, "median": 0.1}, "cycles_per_s": 1000},
        "ratio": 0.1,
        "ratio_after_startup": 0.2,
    }
    results = {"commit": "abc", "overhead": [row, {**row, "workload": "x", "ratio_after_startup": 0.9}]}
    (tmp_path / "results.json").write_text(json.dumps(results))
    bench_report.write(results, tmp_path)
    text = (tmp_path / "README.md").read_text()
    assert "**not met** (4.00× short)" in text and "**met** (0.90)" in text
    assert "| 0.100 |" in text  # the whole-process ratio, beside it
    assert (tmp_path / "overhead.png").stat().st_size > 1000


def _pair(fresh_wall: float, batched_wall: float) -> dict:
    def one(wall):
        return {
            "wall_s": wall,
            "runs": 50,
            "runs_per_core_hour": round(50 * 3600 / wall),
            "overhead_per_run_s": 0.5,
            "builds": 0,
            "summary": "50 passed",
        }

    return {"fresh": one(fresh_wall), "batched": one(batched_wall), "speedup": round(fresh_wall / batched_wall, 3)}


def test_report_renders_the_new_sections():
    """Both native builds side by side, threads, per-run overhead parts, regressions and goals."""
    from asicdv.tools import bench_goals

    stats = {"runs": [0.1], "min": 0.1, "median": 0.1}
    row = {
        "workload": "w",
        "cocotb": {
            "cycles": 100,
            "wall_s": stats,
            "cycles_per_s": 100,
            "startup_s": stats,
            "answer_wall_s": stats,
            "cycles_per_s_after_startup": 800,
        },
        "native": {"cycles": 100, "wall_s": {**stats, "median": 0.2}, "cycles_per_s": 1000},
        "native_o3": {"cycles": 100, "wall_s": stats, "cycles_per_s": 2000},
        "ratios": {
            "default": {"whole_process": 0.1, "simulation": 0.8},
            "o3": {"whole_process": 0.05, "simulation": 0.4},
        },
        "ratio": 0.1,
        "ratio_after_startup": 0.8,
    }
    thread = {"wall_s": stats, "loop_s": stats, "speedup_whole": 1.0, "speedup_loop": 1.0}
    results = {
        "commit": "abc",
        "overhead": [row],
        "threads": [{"workload": "t", "threads": {"1": thread, "2": {**thread, "speedup_loop": 0.61}}}],
        "run_overhead": {"process_and_python_start_s": 0.03, "imports_s": 0.2, "total_s": 0.6, "imports": "x"},
        "regressions": {"smoke": {"configs": {"warm_j1": _pair(77.5, 25.0)}}},
        "section_s": {"smoke": 321.0},
    }
    results["goals"] = bench_goals.evaluate(results)
    text = bench_report.readme(results)
    assert "| w | 0.2 s (1,000 cycles/s) | 0.1 s (2,000 cycles/s) | 2.00× | 0.100 | 0.050 | 0.800 | **0.400** |" in text
    assert "| t | 2 | 0.1 s | 0.1 s | 0.61× | 1.00× | hurts |" in text
    assert [bench_report.threads_verdict(x) for x in (1.2, 1.04, 0.9)] == ["helps", "no change", "hurts"]
    assert "| **total per run** | 0.6000 |" in text
    assert "| smoke | warm, -j 1 | 77.5 s / 25.0 s | 3.10× | 50 |" in text
    assert "| `smoke` |" in text and "| 321 s |" in text and "| `nightly` |" in text
    # the goal computed from the -O3 ratio, 0.4 < 0.8
    assert "| simulation ratio vs the -O3 native build, every workload | 0.4 × | >= 0.8 × | **not met** |" in text
