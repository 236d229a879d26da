"""The bench's regression figures: named regressions (`asicdv regress NAME`) timed cold and warm, at
-j 1 and -j 2, each with a fresh simulator process per run (`ASICDV_BATCH=0`, the before) and
batched (the variable unset, the after), side by side; runs per core-hour; per-run overhead."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from asicdv import project as projects

# The nightly before this work: bench/notes.md ("the nightly regression 637.5 s -> 206.4 s (236
# runs, gate PASS)"), measured at commit 6cace95 on this 2-core machine; the goal is 3x faster.
REFERENCE_NIGHTLY = {
    "commit": "6cace95",
    "wall_s": 206.4,
    "runs": 236,
    "jobs": 2,
    "source": "bench/notes.md: the nightly after the native engine (637.5 s -> 206.4 s, 236 runs, gate PASS), "
    "measured at commit 6cace95, warm, -j 2 on this 2-core machine",
}
# Before / after: the fork server (ASICDV_BATCH, on by default once it lands) is off with 0.
MODES = {"fresh": {"ASICDV_BATCH": "0"}, "batched": {}}
MODE_LABELS = {"fresh": "fresh process per run (ASICDV_BATCH=0)", "batched": "batched (ASICDV_BATCH unset)"}
# (cold?, workers) of each regression the bench times.
CONFIGS = {"smoke": ((True, 2), (False, 1), (False, 2)), "nightly": ((False, 2),)}


def config_name(cold: bool, workers: int) -> str:
    return f"{'cold' if cold else 'warm'}_j{workers}"


def run_counts(summary: dict) -> dict:
    """passed / failed / without result from the regression's summary.json counts."""
    counts = summary.get("counts", {})
    planned = counts.get("planned", 0)
    return {
        "passed": counts.get("passed", 0),
        "failed": counts.get("failed", 0) + counts.get("infrastructure", 0),
        "without_result": planned - counts.get("done", 0),
        "runs": planned,
    }


def runs_per_core_hour(runs: int, wall_s: float, workers: int, cpus: int) -> float:
    """Runs per hour of one core: the cores the regression could use are min(workers, cpus)."""
    return runs * 3600 / (wall_s * max(1, min(workers, cpus)))


def test_seconds(out: Path) -> list[float]:
    """Each run's own test time as cocotb measured it (its results XML's testcase `time`)."""
    seconds = []
    for path in sorted((out / "runs").rglob("results*.xml")):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            continue
        seconds += [float(case.get("time", 0.0)) for case in root.iter("testcase")]
    return seconds


def run_overheads(out: Path) -> dict:
    """Each run's own overhead, (its wall time - its test's time as cocotb measured it), from the
    regression's summary.json and each run's results XML: the median over every run, and over the
    runs inside a batch, i.e. without the first run of each configuration (at -j 1 the one that
    starts that build's simulator server; shown apart as `server_start_median_s`)."""
    by_config: dict[str, list[tuple[float, float]]] = {}
    for run in json.loads((out / "summary.json").read_text()).get("runs", []):
        if run.get("status") != "pass" or not run.get("log"):
            continue
        folder = (out / run["log"]).parent
        xmls = sorted(folder.glob("results*.xml"))
        if not xmls:
            continue
        try:
            cases = list(ET.parse(xmls[-1]).getroot().iter("testcase"))
        except ET.ParseError:
            continue
        test_s = sum(float(c.get("time", 0.0)) for c in cases)
        by_config.setdefault(run["config"], []).append((xmls[-1].stat().st_mtime_ns, run["wall_s"] - test_s))
    every = [o for runs in by_config.values() for _, o in runs]
    ordered = [sorted(runs) for runs in by_config.values()]
    inside = [o for runs in ordered for _, o in runs[1:]]
    firsts = [runs[0][1] for runs in ordered if runs]
    median = lambda xs: round(statistics.median(xs), 4) if xs else None  # noqa: E731
    return {
        "median_s": median(every),
        "in_batch_median_s": median(inside),
        "in_batch_runs": len(inside),
        "server_start_median_s": median(firsts),
        "configs": len(by_config),
    }


def overhead_per_run(wall_s: float, workers: int, cpus: int, tests_s: list[float], runs: int) -> float | None:
    """Core-seconds of the regression not spent inside a test, per run: (wall x cores usable -
    the tests' own time) / runs. Process and Python start-up, imports, build lookup, result
    writing and the engine's own work are all in it; at -j 1 it is exact."""
    if runs <= 0 or not tests_s:
        return None
    return (wall_s * max(1, min(workers, cpus)) - sum(tests_s)) / runs


def regress(name: str, build_root: Path, workers: int, seed: int, mode: str, cold: bool) -> dict:
    """One `asicdv regress NAME -j workers --seed seed` against build_root in a batch mode."""
    env = {key: value for key, value in os.environ.items() if key != "ASICDV_BATCH"}
    env.update(MODES[mode])
    env["ASICDV_BUILD_ROOT"] = str(build_root)
    if cold:
        env["CCACHE_DISABLE"] = "1"  # cold means no compiler cache either (builds use ccache when installed)
    out = projects.current().results / "bench" / f"{name}-{config_name(cold, workers)}-{mode}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(Path(sys.executable).parent / "asicdv"), "regress", name, "-j", str(workers), "--seed", str(seed)]
    cmd += ["--out", str(out), "--no-history"]
    before = set(build_root.glob("*/*/build.ok"))
    start = time.monotonic()
    result = subprocess.run(cmd, cwd=projects.current().root, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    lines = result.stdout.strip().splitlines() or ["(no output)"]
    summary = next((line.strip() for line in reversed(lines) if " passed, " in line), lines[-1])
    if result.returncode != 0:
        raise RuntimeError(
            f"{name} regression failed ({mode}): {summary}\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
        )
    built = sorted(set(build_root.glob("*/*/build.ok")) - before)
    counts = run_counts(json.loads((out / "summary.json").read_text()))
    cpus = os.cpu_count() or 1
    tests = test_seconds(out)
    per_run = overhead_per_run(wall, workers, cpus, tests, counts["runs"])
    return {
        "mode": mode,
        "workers": workers,
        "wall_s": round(wall, 1),
        **counts,
        "runs_per_core_hour": round(runs_per_core_hour(counts["runs"], wall, workers, cpus)),
        "tests_s": round(sum(tests), 1),
        "overhead_per_run_s": None if per_run is None else round(per_run, 3),
        "run_overhead": run_overheads(out),
        "builds": len(built),
        "build_s": {f"{p.parent.parent.name}[{p.parent.name.rsplit('-', 1)[0]}]": _build_seconds(p) for p in built},
        "summary": summary,
        "out": out,
    }


def _build_seconds(stamp: Path) -> float:
    try:
        return float(json.loads(stamp.read_text())["seconds"])
    except (ValueError, KeyError, TypeError):
        return float(stamp.read_text())


def warm_builds(name: str, build_root: Path) -> float:
    """Build every configuration the regression plans (so a warm run finds them); seconds taken."""
    from asicdv.tools import simulator as sim
    from asicdv.tools.blocks import all_blocks
    from asicdv.tools.regress import config

    _, entries = config.load(config.resolve(name))
    blocks = all_blocks()
    start = time.monotonic()
    seen = set()
    for spec in config.plan(entries, 1, blocks):
        if spec.config in seen:
            continue
        seen.add(spec.config)
        options = {"waves": spec.waves, "overrides": spec.parameters, "coverage": spec.coverage}
        sim.build(blocks[spec.block], spec.variant, simulator=spec.simulator, build_root=build_root, **options)
    return time.monotonic() - start


def side_by_side(name: str, build_root: Path, seed: int, log) -> dict:
    """Every configuration of CONFIGS[name], fresh-process then batched (adjacent: the same machine
    load); a cold configuration gets an empty build root per mode (the first is build_root itself,
    which later sections reuse warm)."""
    out: dict = {"regression": name, "configs": {}}
    if name == "nightly":
        out["reference"] = REFERENCE_NIGHTLY
        out["warm_up_s"] = round(warm_builds(name, build_root), 1)
        log(f"  {name}: builds warmed in {out['warm_up_s']} s")
    for cold, workers in CONFIGS[name]:
        pair: dict = {"cold": cold, "workers": workers}
        for mode in MODES:
            extra = None
            root = build_root
            if cold and any(build_root.glob("*/*/build.ok")):
                extra = root = Path(tempfile.mkdtemp(prefix="asicdv-bench-cold-"))
            try:
                figures = regress(name, root, workers, seed, mode, cold)
            finally:
                if extra:
                    shutil.rmtree(extra, ignore_errors=True)
            if name == "smoke" and cold is False and workers == 1 and mode == "fresh":
                pair["hypothesis_out"] = figures["out"]
            figures.pop("out")
            pair[mode] = figures
            log(
                f"  {name} {config_name(cold, workers)} {mode}: {figures['wall_s']} s, {figures['runs']} runs, "
                f"{figures['runs_per_core_hour']:,} runs/core-hour, overhead {figures['overhead_per_run_s']} s/run"
            )
        pair["speedup"] = round(pair["fresh"]["wall_s"] / max(pair["batched"]["wall_s"], 1e-9), 3)
        out["configs"][config_name(cold, workers)] = pair
    return out
