"""Figures of a 20,000-run regression, really run: plan time, wall time, runs per second, the
engine's peak memory, a SIGKILL halfway and `--resume` with nothing run twice, and the time headless
chromium takes to open its report (measured by the browser). `make scale` (RUNS=N for fewer).

The runs are `selftest.night_fixtures.PassesQuickly` on the crc32 and sha256 builds (10,000 seeds
each, the project's limit a test; 10 ns of simulated time:
what is measured is the engine, the batched simulator servers and the report, not a workload).
Nothing run twice is checked on disk: every run's attempt folders are counted, and an attempt that
started before the kill and is redone after it must have been left without a result.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from asicdv import project
from asicdv.tools import browser
from asicdv.tools.blocks import all_blocks
from asicdv.tools.regress.config import load, plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--folder", type=Path, help="where the regression runs (default: a new temporary folder)")
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="asicdv-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "scale.yaml"
    # At most 10,000 seeds a test (the project's [limits] max_reseeds): the rest on another build.
    blocks = ["crc32", "sha256"]
    if args.runs > 10_000 * len(blocks):
        raise SystemExit(f"--runs {args.runs}: at most {10_000 * len(blocks)}")
    chunks = [min(10_000, args.runs - i * 10_000) for i in range(len(blocks)) if args.runs > i * 10_000]
    entries = [
        {"block": block, "module": "selftest.night_fixtures", "tests": ["PassesQuickly"], "reseeds": n}
        for block, n in zip(blocks, chunks, strict=False)
    ]
    source.write_text(json.dumps({"entries": entries}))

    start = time.monotonic()
    _, entries = load(source)
    specs = plan(entries, 7, all_blocks(project.current()))
    plan_s = time.monotonic() - start

    out = folder / "out"
    command = [sys.executable, "-m", "asicdv.tools.cli", "regress", str(source), "--out", str(out)]
    command += ["-j", str(args.jobs), "--seed", "7", "--no-history"]
    first = _regress(command, kill_after=args.runs // 2, out=out)
    done_at_kill = {json.loads(line)["id"] for line in _read_lines(out / "results.jsonl")}
    tried_at_kill = {spec.id: len(_attempts(out, spec)) for spec in specs}
    second = _regress([*command, "--resume"], kill_after=None, out=out)

    records = [json.loads(line) for line in _read_lines(out / "results.jsonl")]
    ids = [r["id"] for r in records]
    attempts = {spec.id: len(_attempts(out, spec)) for spec in specs}
    # Run twice: a run recorded before the kill that the resumed session started again.
    run_twice = [i for i in done_at_kill if attempts[i] > tried_at_kill[i]]
    # In flight at the kill: started, not recorded, so run again (its result, if it wrote one, is
    # never trusted: the killed engine did not see it).
    redone = [i for i, n in tried_at_kill.items() if n and i not in done_at_kill]
    summary = json.loads((out / "summary.json").read_text())

    opened = browser.open_page(out / "report.html", ["planned-runs"]) if browser.chromium() else None
    figures = {
        "runs": len(specs),
        "plan_s": round(plan_s, 2),
        "first_session": first,
        "resumed_session": second,
        "wall_s": round(first["wall_s"] + second["wall_s"], 1),
        "runs_per_s": round(len(specs) / (first["wall_s"] + second["wall_s"]), 1),
        "engine_peak_rss_mib": max(first["peak_rss_mib"], second["peak_rss_mib"]),
        "records": len(records),
        "distinct_ids": len(set(ids)),
        "passed": summary["counts"]["passed"],
        "recorded_at_the_kill": len(done_at_kill),
        "in_flight_at_the_kill_and_redone": len(redone),
        "run_twice": len(run_twice),
        "report_mib": round((out / "report.html").stat().st_size / 2**20, 2),
        "report_pages": 1 + len(list(out.glob("runs-*.html"))),
        "chromium_load_ms": opened.load_ms if opened else None,
        "folder": str(folder),
    }
    print(json.dumps(figures, indent=1))
    whole = len(set(ids)) == len(ids) == len(specs) == summary["counts"]["passed"] and not run_twice
    if not whole:
        print("scale: FAIL (a run lost, recorded twice or run twice)", file=sys.stderr)
    return 0 if whole else 1


def _regress(command: list[str], kill_after: int | None, out: Path) -> dict:
    """Run `asicdv regress`; SIGKILL it once `kill_after` results are recorded. Wall time and peak RSS."""
    start = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak_kib = 0
    recorded = 0
    while proc.poll() is None:
        peak_kib = max(peak_kib, _rss_kib(proc.pid))
        if kill_after is not None:
            recorded = _lines(out / "results.jsonl")
            if recorded >= kill_after:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                break
        time.sleep(0.5)
    wall = time.monotonic() - start
    figures = {"wall_s": round(wall, 1), "peak_rss_mib": round(peak_kib / 1024, 1), "exit": proc.returncode}
    if kill_after is not None:
        figures["killed_after_records"] = recorded
    return figures


def _read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _lines(path: Path) -> int:
    try:
        with open(path, "rb") as stream:
            return sum(1 for _ in stream)
    except FileNotFoundError:
        return 0


def _attempts(out: Path, spec) -> list[Path]:
    folder = out / "runs" / spec.id
    return sorted(folder.glob("attempt-*")) if folder.is_dir() else []


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
