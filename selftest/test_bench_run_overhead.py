"""The per-run overhead breakdown's arithmetic (asicdv.tools.bench_run_overhead), without a simulator."""

import pytest

from asicdv.tools import bench_run_overhead


def test_the_parts_add_up_to_the_trivial_run_plus_the_regressions_own_work():
    parts = bench_run_overhead.breakdown(
        python_s=0.03, imports_s=0.25, lookup_s=0.001, write_s=0.004, run_wall_s=0.5, run_work_s=0.01
    )
    assert parts["simulator_and_cocotb_rest_s"] == pytest.approx(0.5 - 0.01 - 0.03 - 0.25)
    assert parts["total_s"] == pytest.approx(0.5 - 0.01 + 0.001 + 0.004)
    assert parts["trivial_run_wall_s"] == 0.5


def test_result_writing_is_timed_on_a_real_results_store():
    assert 0 < bench_run_overhead.result_write_seconds(3) < 1.0


def test_batching_sets_and_restores_the_runs_mode(monkeypatch):
    import os

    monkeypatch.setenv("ASICDV_BATCH", "7")
    with bench_run_overhead.batching(False):
        assert os.environ["ASICDV_BATCH"] == "0"  # a fresh process per run
    with bench_run_overhead.batching(True):
        assert "ASICDV_BATCH" not in os.environ  # batched (the default)
    assert os.environ["ASICDV_BATCH"] == "7"
