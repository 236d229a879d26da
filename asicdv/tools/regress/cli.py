"""`asicdv regress`: the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from asicdv import UserError
from asicdv.tools.regress.config import SEED_LIMIT
from asicdv.tools.regress.engine import Regression, RegressionOptions

# ---------------------------------------------------------------- CLI


def command(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise UserError(f"-j {args.jobs}: need at least 1")
    if args.resume and args.rerun_failed:
        raise UserError("--resume and --rerun-failed do not go together")
    if args.scheduler and args.executor != "dask":
        raise UserError("--scheduler needs --executor dask")
    if args.seed is not None and not 0 <= args.seed <= SEED_LIMIT:
        raise UserError(f"--seed {args.seed}: must be between 0 and {SEED_LIMIT}")
    if args.farm and (args.executor == "dask" or args.scheduler):
        raise UserError("--farm starts its own cluster: leave out --executor dask and --scheduler")
    if args.coverage_from and not args.changed_since:
        raise UserError("--coverage-from refines --changed-since: give both")
    if args.max_waves < 0:
        raise UserError(f"--max-waves {args.max_waves}: must be 0 or more")
    options = RegressionOptions(
        jobs=args.jobs,
        out=args.out,
        resume=args.resume,
        rerun_failed=args.rerun_failed,
        filter=args.filter,
        executor=args.executor,
        scheduler=args.scheduler,
        seed=args.seed,
        max_waves=args.max_waves,
        farm=args.farm,
        changed_since=args.changed_since,
        sample_percent=args.sample,
        coverage_from=args.coverage_from,
        history_url=args.db,
        record_history=not args.no_history,
    )
    return Regression(args.name, options).run()


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "regress",
        help="run a named regression (regressions/NAME.yaml): builds, runs, buckets, report",
        description="Run a regression file: build every configuration once, run each test/variant/seed in its own "
        "simulator process, append results as they end, bucket failures, write summary.json, junit.xml, report.html.",
    )
    parser.add_argument(
        "name",
        help="regression name in regressions/ (smoke, nightly, sha256...) or a path to a .yaml",
    )
    parser.add_argument("-j", "--jobs", type=int, default=2, help="parallel builds and runs (default 2)")
    parser.add_argument("--out", type=Path, help="results folder (default results/regress/NAME)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="run only the planned runs that have no result yet",
    )
    parser.add_argument(
        "--rerun-failed",
        action="store_true",
        help="rerun the last failures with their seeds",
    )
    parser.add_argument(
        "--filter",
        metavar="GLOB",
        help="only runs whose test, block/variant/test or id matches",
    )
    parser.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="where runs execute",
    )
    parser.add_argument("--scheduler", metavar="ADDR", help="existing Dask scheduler (tcp://host:8786)")
    parser.add_argument(
        "--seed",
        type=int,
        help="master seed (default: the file's 'seed:' or a fresh one)",
    )
    parser.add_argument(
        "--max-waves",
        type=int,
        default=1,
        help="waves reruns per failure bucket (default 1)",
    )
    from asicdv.tools.farm import FARMS

    parser.add_argument(
        "--farm",
        choices=sorted(FARMS),
        help="run on a batch farm: asicdv starts the cluster from the project's [farm] settings, "
        "scales it to -j jobs and cancels every job on exit",
    )
    parser.add_argument(
        "--changed-since",
        metavar="REF",
        help="only the runs of blocks whose files changed since the git revision REF (plus --sample)",
    )
    parser.add_argument(
        "--sample",
        type=float,
        default=10.0,
        metavar="PERCENT",
        help="with --changed-since: a seeded random sample of the other runs (default 10)",
    )
    parser.add_argument(
        "--coverage-from",
        type=Path,
        metavar="DIR",
        help="with --changed-since: a coverage regression's results folder; within a changed block, only the "
        "tests its per-test line coverage shows reaching a changed RTL line",
    )
    parser.add_argument("--db", metavar="URL", help="results database (default: the project's; see asicdv history)")
    parser.add_argument("--no-history", action="store_true", help="do not record this regression in the database")
    parser.set_defaults(handler=command)
