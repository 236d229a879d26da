"""Issue 18's goals judged on bench/results.json: each figure taken from the measured results, its
goal, and a verdict computed from the two (never written by hand)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from asicdv.tools.bench_regress import REFERENCE_NIGHTLY

BUILD_NAMES = {"default": "default", "o3": "-O3"}
MIN_NATIVE_S = 1.0  # the whole-process goal counts workloads of at least this much native time


@dataclass(frozen=True)
class Goal:
    key: str
    label: str
    op: str  # "<=" or ">="
    target: float
    unit: str
    figure: Callable[[dict], tuple[float | None, str]]  # results -> (value or None, where it comes from)


def verdict(value: float | None, op: str, target: float) -> str:
    if value is None:
        return "not measured"
    met = value <= target if op == "<=" else value >= target
    return "met" if met else "not met"


def _regression(results: dict, name: str, config: str, mode: str) -> dict | None:
    return results.get("regressions", {}).get(name, {}).get("configs", {}).get(config, {}).get(mode)


def per_run_overhead(results: dict) -> tuple[float | None, str]:
    """A run's overhead inside a batch: the median over the smoke's warm -j 1 batched runs of (the
    run's wall time - its test's own time), each build's first run (its server's start) left out;
    the whole regression's figure, server starts and the engine included, is beside it."""
    run = _regression(results, "smoke", "warm_j1", "batched")
    inside = (run or {}).get("run_overhead", {}).get("in_batch_median_s")
    if inside is None:
        return None, "smoke warm -j 1, batched: not measured"
    whole = run.get("overhead_per_run_s")
    starts = run["run_overhead"].get("server_start_median_s")
    return inside, (
        f"smoke warm -j 1, batched: median of (run wall - its test's time) over {run['run_overhead']['in_batch_runs']} "
        f"runs, each build's first left out (its server's start, median {starts} s); the whole regression's "
        f"(wall - tests' time) / runs is {whole} s"
    )


def nightly_speedup(results: dict) -> tuple[float | None, str]:
    run = _regression(results, "nightly", "warm_j2", "batched")
    if not run:
        return None, "nightly warm -j 2, batched: not measured"
    value = REFERENCE_NIGHTLY["wall_s"] / run["wall_s"]
    return value, f"{REFERENCE_NIGHTLY['wall_s']} s (commit {REFERENCE_NIGHTLY['commit']}) / {run['wall_s']} s"


def ratio(row: dict, build: str, kind: str) -> float | None:
    """A side-by-side row's cocotb/native ratio (kind: whole_process or simulation) against a
    native build; rows written before the -O3 build carry the default build's under older names."""
    if "ratios" in row:
        return row["ratios"].get(build, {}).get(kind)
    if build == "default":
        return row.get("ratio" if kind == "whole_process" else "ratio_after_startup")
    return None


def _worst(rows: list[dict], build: str, kind: str) -> tuple[float | None, str]:
    measured = [(ratio(r, build, kind), r["workload"]) for r in rows if ratio(r, build, kind) is not None]
    if not measured:
        return None, f"no workload measured against the {BUILD_NAMES[build]} build"
    value, workload = min(measured)
    return value, f"lowest of {len(measured)}: {workload}"


def whole_process_ratio(results: dict) -> tuple[float | None, str]:
    rows = [r for r in results.get("overhead", []) if r["native"]["wall_s"]["median"] >= MIN_NATIVE_S]
    if not rows:
        return None, f"no workload of ≥ {MIN_NATIVE_S:g} s native in this bench"
    return _worst(rows, "default", "whole_process")


def simulation_ratio_o3(results: dict) -> tuple[float | None, str]:
    return _worst(results.get("overhead", []), "o3", "simulation")


def make_test_warm(results: dict) -> tuple[float | None, str]:
    timing = results.get("make_test")
    if not timing:
        return None, "not timed (opt-in: --with make-test)"
    if "error" in timing:
        return None, timing["error"].splitlines()[0]
    return timing["warm_s"], "second of two back-to-back `make test` runs"


def hypothesis_ratio(results: dict) -> tuple[float | None, str]:
    """The sha256 block's figure (tb/sha256/bench.py): examples/s of its hypothesis property through
    the core over the same strategy on the model alone, medians of 5 seeds, interleaved."""
    figures = results.get("block_figures", {}).get("sha256", {})
    percent = next((f["value"] for name, f in figures.items() if name.startswith("through the core, %")), None)
    if percent is None:
        return None, "blocks section (sha256): not measured"
    through = next((f["value"] for name, f in figures.items() if name.startswith("hypothesis through the core")), "?")
    alone = next((f["value"] for name, f in figures.items() if name.startswith("the same property")), "?")
    return (
        percent / 100,
        f"sha256 RandomMessagesTest: {through} examples/s through the core / {alone} on the model alone",
    )


GOALS = (
    Goal("per_run_overhead", "per-run overhead in a batch", "<=", 0.05, "s", per_run_overhead),
    Goal("nightly_speedup", "nightly on 2 cores, speed-up over commit 6cace95", ">=", 3.0, "×", nightly_speedup),
    Goal(
        "whole_process_ratio",
        f"whole-process ratio vs the default native build, workloads of ≥ {MIN_NATIVE_S:g} s native",
        ">=",
        0.8,
        "×",
        whole_process_ratio,
    ),
    Goal(
        "simulation_ratio_o3",
        "simulation ratio vs the -O3 native build, every workload",
        ">=",
        0.8,
        "×",
        simulation_ratio_o3,
    ),
    Goal(
        "hypothesis_ratio",
        "hypothesis through the SHA-256 core vs the same strategy on the model alone",
        ">=",
        0.8,
        "×",
        hypothesis_ratio,
    ),
    Goal("make_test_warm", "`make test` warm on 2 cores", "<=", 60.0, "s", make_test_warm),
)


def evaluate(results: dict) -> dict:
    """Every goal: {label, value, goal, unit, verdict, source}."""
    out = {}
    for goal in GOALS:
        value, source = goal.figure(results)
        out[goal.key] = {
            "label": goal.label,
            "value": None if value is None else round(value, 4),
            "goal": f"{goal.op} {goal.target:g}",
            "unit": goal.unit,
            "verdict": verdict(value, goal.op, goal.target),
            "source": source,
        }
    return out
