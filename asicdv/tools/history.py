"""Every regression kept in a results database, and the trends across nights.

Each finished regression is appended (SQLAlchemy Core): an SQLite file in the project's results
folder by default (nothing to install), or a team's shared PostgreSQL given as a URL (asicdv.toml
`[history] url = "postgresql+psycopg://user@host/db"`, or ASICDV_HISTORY_URL, or --db). Stored per
run: block, variant, test, seed, verdict, message signature, wall time, simulated time, functional
coverage, git commit; per formal property (the regression's formal entries): block, variant,
parameters, task, property, verdict, depth, seconds, reproduce and replay commands. `asicdv history`
prints per night the pass rate, wall time, coverage and formal verdict counts (and plots the first
three), for each failure bucket and each failing formal property the first night and commit it
failed and since when it still fails, and per test its failure and flake rates.

An older database gains the tables added since (create_all creates what is missing, and touches no
table that exists): its nights simply have no formal rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

from asicdv import UserError
from asicdv import project as projects

VERDICTS = ("pass", "fail", "infrastructure", "missing")


def _tables():
    import sqlalchemy as sa

    meta = sa.MetaData()
    nights = sa.Table(
        "nights",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("regression", sa.String(200), nullable=False),
        sa.Column("results", sa.String(1000), nullable=False),  # the results folder
        sa.Column("created", sa.String(40), nullable=False),  # when the plan was made (a night's identity)
        sa.Column("written", sa.String(40)),
        sa.Column("commit", sa.String(64)),
        sa.Column("seed", sa.BigInteger),
        sa.Column("planned", sa.Integer),
        sa.Column("passed", sa.Integer),
        sa.Column("failed", sa.Integer),
        sa.Column("infrastructure", sa.Integer),
        sa.Column("missing", sa.Integer),
        sa.Column("flaky", sa.Integer),
        sa.Column("wall_s", sa.Float),
        sa.Column("functional_coverage", sa.Float),
        sa.UniqueConstraint("regression", "results", "created", name="one_row_per_night"),
    )
    runs = sa.Table(
        "runs",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("night_id", sa.Integer, sa.ForeignKey("nights.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("run_id", sa.String(500), nullable=False),
        sa.Column("block", sa.String(200), nullable=False, index=True),
        sa.Column("variant", sa.String(200)),
        sa.Column("test", sa.String(500), nullable=False, index=True),
        sa.Column("seed", sa.BigInteger),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("flaky", sa.Boolean, default=False),
        sa.Column("signature", sa.Text),
        sa.Column("wall_s", sa.Float),
        sa.Column("sim_time_ns", sa.Float),
        sa.Column("coverage", sa.Float),  # functional coverage of the run, percent of declared bins hit
        sa.Column("commit", sa.String(64)),
    )
    formal = sa.Table(
        "formal_properties",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("night_id", sa.Integer, sa.ForeignKey("nights.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("run_id", sa.String(500), nullable=False),  # the formal run (task at one parameter set)
        sa.Column("key", sa.String(1000), nullable=False, index=True),  # block/formal/task-params/property
        sa.Column("block", sa.String(200), nullable=False, index=True),
        sa.Column("variant", sa.String(200)),
        sa.Column("parameters", sa.Text),  # JSON, keys sorted
        sa.Column("task", sa.String(200), nullable=False),
        sa.Column("property", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(20)),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),  # pass | fail | infrastructure
        sa.Column("depth", sa.Integer),
        sa.Column("seconds", sa.Float),
        sa.Column("reproduce", sa.Text),
        sa.Column("replay", sa.Text),
        sa.Column("commit", sa.String(64)),
    )
    return meta, nights, runs, formal


def default_url(project) -> str:
    return (
        os.environ.get("ASICDV_HISTORY_URL") or project.history_url or f"sqlite:///{project.results / 'history.sqlite'}"
    )


def _engine(url: str):
    try:
        import sqlalchemy as sa
    except ImportError:
        raise UserError("the results database needs SQLAlchemy: pip install 'asicdv[regress]'") from None
    try:
        engine = sa.create_engine(url, future=True)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise UserError(f"results database URL {url!r}: {exc}") from None
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return engine


def git_commit(root: Path) -> str | None:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False)
    return out.stdout.strip() or None if out.returncode == 0 else None


def _coverage_percent(coverage: dict | None) -> float | None:
    if not coverage:
        return None
    bins = [hits for point in coverage.values() for hits in point.values()]
    return round(100.0 * sum(h > 0 for h in bins) / len(bins), 2) if bins else None


def record(summary: dict, out: Path, url: str, commit: str | None) -> int:
    """Append (or replace, for a resumed regression) this regression's night; returns its id."""
    import sqlalchemy as sa

    meta, nights, runs, formal = _tables()
    engine = _engine(url)
    try:
        with engine.begin() as db:
            meta.create_all(db)
            identity = (
                (nights.c.regression == summary["regression"])
                & (nights.c.results == str(out))
                & (nights.c.created == summary["created"])
            )
            old = db.execute(sa.select(nights.c.id).where(identity)).scalar()
            if old is not None:
                db.execute(runs.delete().where(runs.c.night_id == old))
                db.execute(formal.delete().where(formal.c.night_id == old))
                db.execute(nights.delete().where(nights.c.id == old))
            counts = summary["counts"]
            merged = summary.get("functional_coverage") or {}
            night = db.execute(
                nights.insert().values(
                    regression=summary["regression"],
                    results=str(out),
                    created=summary["created"],
                    written=summary.get("written"),
                    commit=commit,
                    seed=summary.get("seed"),
                    planned=counts["planned"],
                    passed=counts["passed"],
                    failed=counts["failed"],
                    infrastructure=counts.get("infrastructure", 0),
                    missing=counts["missing"],
                    flaky=counts.get("flaky", 0),
                    wall_s=summary.get("wall_s"),
                    functional_coverage=merged.get("percent"),
                )
            ).inserted_primary_key[0]
            rows = [
                {
                    "night_id": night,
                    "run_id": r["id"],
                    "block": r["block"],
                    "variant": r.get("variant"),
                    "test": r["test"],
                    "seed": r.get("seed"),
                    "verdict": r["status"] if r["status"] in VERDICTS else "fail",
                    "flaky": bool(r.get("flaky")),
                    "signature": r.get("signature"),
                    "wall_s": r.get("wall_s"),
                    "sim_time_ns": r.get("sim_time_ns"),
                    "coverage": _coverage_percent(r.get("functional_coverage")),
                    "commit": commit,
                }
                for r in summary["runs"]
            ]
            if rows:
                db.execute(runs.insert(), rows)
            properties = [
                {
                    "night_id": night,
                    "run_id": p["run"],
                    "key": p["key"],
                    "block": p["block"],
                    "variant": p.get("variant"),
                    "parameters": json.dumps(p.get("parameters") or {}, sort_keys=True),
                    "task": p["task"],
                    "property": p["property"],
                    "kind": p.get("kind"),
                    "verdict": p["verdict"],
                    "status": p["status"],
                    "depth": p.get("depth"),
                    "seconds": p.get("seconds"),
                    "reproduce": p.get("reproduce"),
                    "replay": p.get("replay"),
                    "commit": commit,
                }
                for p in (summary.get("formal") or {}).get("properties", [])
            ]
            if properties:
                db.execute(formal.insert(), properties)
            return night
    except sa.exc.OperationalError as exc:
        raise UserError(f"results database {engine.url!r}: {exc.orig}") from None
    finally:
        engine.dispose()


def query(url: str, regression: str | None = None, block: str | None = None, test: str | None = None) -> dict:
    """Trends per night, failure buckets and failing formal properties across nights, and per-test
    failure and flake rates. `test` also selects the formal rows of a task of that name."""
    import sqlalchemy as sa

    meta, nights, runs, formal = _tables()
    engine = _engine(url)
    try:
        with engine.connect() as db:
            meta.create_all(db)
            night_query = sa.select(nights).order_by(nights.c.id)
            if regression:
                night_query = night_query.where(nights.c.regression == regression)
            all_nights = [dict(row._mapping) for row in db.execute(night_query)]
            run_query = sa.select(runs).where(runs.c.night_id.in_([n["id"] for n in all_nights]))
            if block:
                run_query = run_query.where(runs.c.block == block)
            if test:
                run_query = run_query.where(runs.c.test == test)
            all_runs = [dict(row._mapping) for row in db.execute(run_query)]
            formal_query = sa.select(formal).where(formal.c.night_id.in_([n["id"] for n in all_nights]))
            if block:
                formal_query = formal_query.where(formal.c.block == block)
            if test:
                formal_query = formal_query.where(formal.c.task == test)
            all_formal = [dict(row._mapping) for row in db.execute(formal_query.order_by(formal.c.id))]
    except sa.exc.OperationalError as exc:
        raise UserError(f"results database {engine.url!r}: {exc.orig}") from None
    finally:
        engine.dispose()
    return summarize_history(all_nights, all_runs, all_formal)


def _still_failing_since(failed_nights: set, nights_seen: list) -> int | None:
    """The first of the unbroken row of latest nights in which it failed (None: it passed last)."""
    since = None
    for night in reversed(nights_seen):
        if night not in failed_nights:
            break
        since = night
    return since


def summarize_history(all_nights: list[dict], all_runs: list[dict], all_formal: list[dict] = ()) -> dict:
    by_night = defaultdict(list)
    for run in all_runs:
        by_night[run["night_id"]].append(run)
    formal_by_night = defaultdict(list)
    for row in all_formal:
        formal_by_night[row["night_id"]].append(row)
    trend = []
    for night in all_nights:
        members = by_night.get(night["id"], [])
        properties = formal_by_night.get(night["id"], [])
        if not members and not properties:
            continue
        judged = [r for r in members if r["verdict"] in ("pass", "fail")]
        covered = [r["coverage"] for r in members if r["coverage"] is not None]
        trend.append(
            {
                "night": night["id"],
                "regression": night["regression"],
                "created": night["created"],
                "commit": night["commit"],
                "runs": len(members),
                "pass_rate": round(100.0 * sum(r["verdict"] == "pass" for r in judged) / len(judged), 2)
                if judged
                else None,
                "infrastructure": sum(r["verdict"] == "infrastructure" for r in members),
                "wall_s": round(sum(r["wall_s"] or 0.0 for r in members), 2),
                "coverage": round(max(covered), 2) if covered else None,
                "formal": dict(sorted(Counter(p["verdict"] for p in properties).items())),
            }
        )
    nights_seen = [t["night"] for t in trend]
    buckets: dict[str, dict] = {}
    for run in sorted(all_runs, key=lambda r: r["night_id"]):
        if run["verdict"] != "fail" or not run["signature"]:
            continue
        bucket = buckets.setdefault(
            run["signature"],
            {
                "signature": run["signature"],
                "first_night": run["night_id"],
                "first_commit": run["commit"],
                "nights": set(),
                "tests": set(),
            },
        )
        bucket["nights"].add(run["night_id"])
        bucket["tests"].add(f"{run['block']}/{run['test']}")
    for bucket in buckets.values():
        bucket["still_failing_since"] = _still_failing_since(bucket["nights"], nights_seen)
        bucket["nights"], bucket["tests"] = sorted(bucket["nights"]), sorted(bucket["tests"])
    tests: dict[str, dict] = defaultdict(lambda: {"runs": 0, "failures": 0, "flaky": 0, "infrastructure": 0})
    for run in all_runs:
        figures = tests[f"{run['block']}/{run['test']}"]
        figures["runs"] += 1
        figures["failures"] += run["verdict"] == "fail" and not run["flaky"]
        figures["flaky"] += bool(run["flaky"])
        figures["infrastructure"] += run["verdict"] == "infrastructure"
    for figures in tests.values():
        figures["failure_rate"] = round(100.0 * figures["failures"] / figures["runs"], 2)
        figures["flake_rate"] = round(100.0 * figures["flaky"] / figures["runs"], 2)
    return {
        "trend": trend,
        "buckets": list(buckets.values()),
        "tests": dict(sorted(tests.items())),
        "formal": _failing_properties(all_formal, nights_seen),
    }


def _failing_properties(all_formal: list[dict], nights_seen: list) -> list[dict]:
    """Each formal property that failed (a counterexample, a tool error, lost to the farm) on some
    night: when first, at which commit, on which nights, since when it still fails, its last verdict."""
    seen: dict[str, dict] = {}
    for row in sorted(all_formal, key=lambda r: (r["night_id"], r["id"])):
        entry = seen.setdefault(row["key"], {"key": row["key"], "nights": set(), "first_night": None})
        entry.update(last_verdict=row["verdict"], last_depth=row["depth"], reproduce=row["replay"] or row["reproduce"])
        if row["status"] != "pass":
            entry["nights"].add(row["night_id"])
            if entry["first_night"] is None:
                entry.update(first_night=row["night_id"], first_commit=row["commit"], first_verdict=row["verdict"])
    failing = []
    for entry in seen.values():
        if entry["first_night"] is None:
            continue
        entry["still_failing_since"] = _still_failing_since(entry["nights"], nights_seen)
        entry["nights"] = sorted(entry["nights"])
        failing.append(entry)
    return failing


def plot(history: dict, path: Path) -> Path:
    """Pass rate, wall time and coverage per night, as one SVG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    trend = history["trend"]
    nights = [str(t["night"]) for t in trend]
    figure = Figure(figsize=(7, 5.4))
    axes = figure.subplots(3, 1, sharex=True)
    for ax, key, label in zip(
        axes,
        ("pass_rate", "wall_s", "coverage"),
        ("pass rate %", "wall time s", "coverage %"),
        strict=True,
    ):
        values = [t[key] if t[key] is not None else float("nan") for t in trend]
        ax.plot(nights, values, marker="o")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("night (results database id)")
    figure.tight_layout()
    figure.savefig(path, format="svg")
    return path


def command(args: argparse.Namespace) -> int:
    project = projects.current()
    url = args.db or default_url(project)
    history = query(url, args.regression, args.block, args.test)
    if not history["trend"]:
        raise UserError(f"no regression recorded in {url} for that selection (run `asicdv regress` first)")
    if args.json:
        print(json.dumps(history, indent=1, default=str))
        return 0
    print(f"history from {url}")
    print(
        f"{'night':>5}  {'regression':<14} {'commit':<10} {'runs':>5} {'pass %':>7} {'infra':>5} {'wall s':>8} {'cov %':>6}"
    )
    for t in history["trend"]:
        rate = "-" if t["pass_rate"] is None else f"{t['pass_rate']:.1f}"
        cov = "-" if t["coverage"] is None else f"{t['coverage']:.1f}"
        commit = (t["commit"] or "-")[:10]
        formal = ", ".join(f"{n} {verdict}" for verdict, n in t["formal"].items())
        print(
            f"{t['night']:>5}  {t['regression']:<14} {commit:<10} {t['runs']:>5} {rate:>7} "
            f"{t['infrastructure']:>5} {t['wall_s']:>8.1f} {cov:>6}" + (f"  formal: {formal}" if formal else "")
        )
    if history["buckets"]:
        print("failure buckets:")
        for b in history["buckets"]:
            since = (
                f"still failing since night {b['still_failing_since']}"
                if b["still_failing_since"]
                else "not failing now"
            )
            print(
                f"  first night {b['first_night']} (commit {(b['first_commit'] or '-')[:10]}), {since}: "
                f"{b['signature'][:120]}  [{', '.join(b['tests'][:4])}]"
            )
    if history["formal"]:
        print("formal properties that failed:")
        for p in history["formal"]:
            since = (
                f"still failing since night {p['still_failing_since']}"
                if p["still_failing_since"]
                else f"not failing now ({p['last_verdict']})"
            )
            print(
                f"  {p['key']}: first night {p['first_night']} (commit {(p['first_commit'] or '-')[:10]}, "
                f"{p['first_verdict']}), {since}; reproduce: {p['reproduce']}"
            )
    worst = [(name, f) for name, f in history["tests"].items() if f["failures"] or f["flaky"]]
    if worst:
        print("tests that failed or flaked:")
        for name, f in worst:
            print(f"  {name}: {f['failure_rate']:.1f}% failures, {f['flake_rate']:.1f}% flaky over {f['runs']} runs")
    if args.plot:
        print(f"plot: {plot(history, args.plot)}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("history", help="trends of recorded regressions (results database)")
    parser.add_argument("--db", help="database URL (default: the project's [history] url, else results/history.sqlite)")
    parser.add_argument("--regression", help="only this regression")
    parser.add_argument("--block", help="only this block's runs")
    parser.add_argument("--test", help="only this test's runs (or this formal task's properties)")
    parser.add_argument("--plot", type=Path, help="write the trend plots to this SVG file")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(handler=command)
