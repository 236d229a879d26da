"""Run blocks' smoke tests on a chosen build (code coverage, Icarus) and merge the coverage.

    python -m asicdv.tools.coverage_run                       # make cov: every block, coverage builds, merged report
    python -m asicdv.tools.coverage_run --simulator icarus --blocks sha256 sha256d --no-coverage

Seeds are the same fixed per-test seeds `make test` uses (crc32 of block:variant:test), so
the figures repeat run to run; --seed S gives every run seed S instead.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools import code_coverage as codecov
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import Block, all_blocks, get_block


def smoke_seed(block: str, variant: str, test: str) -> int:
    """The seed `make test` gives this test (see asicdv.tools.pytest_plugin)."""
    return zlib.crc32(f"{block}:{variant}:{test}".encode()) & 0x7FFFFFFF


def smoke_tests(block: Block) -> list[str]:
    return [t.name for t in block.tests if t.smoke]


def run_tests(
    build: sim.Build,
    tests: list[str],
    *,
    seed: int | None = None,
    jobs: int = 2,
    run_root: Path,
    timeout_s: float | None = None,
    stop_at_first_failure: bool = False,
) -> list[sim.RunResult]:
    """Run the tests on one build, `jobs` simulator processes at a time. With
    stop_at_first_failure, tests not yet started are skipped once one fails."""
    failed = False

    def one(test: str) -> sim.RunResult | None:
        nonlocal failed
        if stop_at_first_failure and failed:
            return None
        test_seed = seed if seed is not None else smoke_seed(build.block.name, build.variant, test)
        result = sim.run(build, test, test_seed, run_dir=run_root / f"{test}-{test_seed}", timeout_s=timeout_s)
        failed = failed or not result.passed
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return [r for r in pool.map(one, tests) if r is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asicdv.tools.coverage_run", description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", nargs="*", help="blocks to run (default: all)")
    parser.add_argument("--variant", help="only this variant (default: every variant of each block)")
    parser.add_argument("--test", help="only this test")
    parser.add_argument("--simulator", default="verilator", choices=sim.SIMULATORS)
    parser.add_argument("--no-coverage", dest="coverage", action="store_false", help="plain builds, no merge")
    parser.add_argument("--seed", type=int, help="seed for every run (default: the fixed smoke seeds)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="simulations in parallel (default 2)")
    parser.add_argument(
        "--out", type=Path, default=None, help="coverage report folder (default: the project's results/coverage)"
    )
    args = parser.parse_args(argv)
    try:
        return _main(args)
    except (UserError, sim.BuildError) as exc:
        print(f"covrun: error: {exc}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace) -> int:
    args.out = args.out or projects.current().results / "coverage"
    if args.simulator == "icarus" and args.coverage:
        raise UserError("code coverage needs Verilator; add --no-coverage with --simulator icarus")
    blocks = [get_block(name) for name in args.blocks] if args.blocks else list(all_blocks().values())
    dat_files, failures = [], 0
    label = args.simulator + ("-cov" if args.coverage else "")
    for block in blocks:
        variants = [args.variant] if args.variant else list(block.variants)
        for variant in variants:
            tests = [block.test(args.test).name] if args.test else smoke_tests(block)
            build = sim.build(block, variant, coverage=args.coverage, simulator=args.simulator)
            if build.seconds:
                print(f"built {block.name}[{variant}] in {build.seconds:.1f} s -> {build.directory}")
            run_root = projects.current().results / "runs" / block.name / f"{variant}-{label}"
            start = time.monotonic()
            results = run_tests(build, tests, seed=args.seed, jobs=args.jobs, run_root=run_root)
            for result in results:
                status = "PASSED" if result.passed else "FAILED"
                print(f"{status} {block.name}[{variant}] {result.test} seed={result.seed} {result.wall_s:.1f}s")
                if not result.passed:
                    failures += 1
                    print("  " + result.message.replace("\n", "\n  ") + f"\n  log: {result.log}")
                if result.coverage:
                    dat_files.append(result.coverage)
            print(f"{block.name}[{variant}] on {label}: {len(results)} runs in {time.monotonic() - start:.0f} s")
    if args.coverage:
        figures = codecov.merge(dat_files, args.out)
        print(f"\ncode coverage of {len(dat_files)} runs (rtl folder: line / toggle / branch):")
        for group, figure in figures.items():
            cells = " / ".join("-" if figure[k] is None else f"{figure[k]:.1f}%" for k in codecov.KINDS)
            print(f"  {group:10} {cells}")
        for group, missed in codecov.misses(dat_files).items():
            print(f"  {group}: {len(missed)} line/branch point(s) never hit: " + "; ".join(missed[:12]))
        print(f"report: {args.out / 'html' / 'index.html'}  lcov: {args.out / 'coverage.info'}")
    print(f"{failures} failed run(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
