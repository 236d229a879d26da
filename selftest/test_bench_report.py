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
