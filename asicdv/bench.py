"""`make bench`: figures, not pass/fail. Each block may add `tb/<block>/bench.py`
with `run(report)`; report(name, value, unit) prints one aligned line."""

from __future__ import annotations

import importlib
import re
import shutil
import tempfile
import time
from pathlib import Path

from asicdv import ROOT, sim
from asicdv.blocks import Block


def report(name: str, value: float, unit: str) -> None:
    print(f"  {name:<52} {value:>12,.1f} {unit}")


def cold_build_seconds(block: Block, variant: str = "default") -> float:
    """Build into a throwaway directory so the cache is not touched."""
    saved = sim.BUILD_ROOT
    with tempfile.TemporaryDirectory() as tmp:
        sim.BUILD_ROOT = Path(tmp)
        try:
            start = time.monotonic()
            sim.build(block, variant)
            return time.monotonic() - start
        finally:
            sim.BUILD_ROOT = saved


def examples_per_second(log: Path) -> float:
    """The rate asicdv.hypo logs at the end of a passing property."""
    match = re.search(r"examples passed in [\d.]+ s \((\d+) examples/s", log.read_text())
    if not match:
        raise RuntimeError(f"no property summary in {log}")
    return float(match.group(1))


def timed_run(block: Block, test: str, seed: int = 1, variant: str = "default") -> sim.RunResult:
    result = sim.run(sim.build(block, variant), test, seed, run_dir=ROOT / "results" / "bench" / block.name / variant / test)
    if not result.passed:
        raise RuntimeError(f"benchmark run {block.name} {test} failed: {result.message}")
    return result


def main() -> int:
    for path in sorted((ROOT / "tb").glob("*/bench.py")):
        name = path.parent.name
        print(f"{name}:")
        importlib.import_module(f"tb.{name}.bench").run(report)
    shutil.rmtree(ROOT / "results" / "bench", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
