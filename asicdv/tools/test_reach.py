"""Which RTL lines each test reaches: an index built from a coverage regression's results folder.

Per test (block/variant[parameters]/test, seeds merged), the (file, line) pairs of the Verilator line
and branch points it hit at least once (a point stands for every line of its span); plus every line
that is a point at all, so "no test reaches this line" and "this line is no coverage point" are told
apart. Files are relative to the project root. The index records the git commit the coverage was
built from (plan.json's, taken when the regression started) and the RTL files that had uncommitted
edits then: their line numbers are not the commit's.

Written to OUT/test-reach.json when a coverage regression ends, or built on demand from OUT's runs.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections import defaultdict
from pathlib import Path

from asicdv import UserError
from asicdv.tools import code_coverage
from asicdv.tools.regress.config import _param_suffix

INDEX_FILE = "test-reach.json"
LINE_KINDS = ("line", "branch")  # Verilator's line coverage; toggles name signals, not statements


def test_key(block: str, variant: str, parameters: dict, test: str) -> str:
    """A test's identity across regressions (a coverage build and a plain build share it)."""
    return f"{block}/{variant}{_param_suffix(parameters)}/{test}"


def _relative(path: str, root: Path, known: set[str]) -> str:
    """A coverage file name relative to the project root (a build elsewhere: matched by suffix)."""
    p = Path(path)
    if p.is_absolute() and p.is_relative_to(root):
        return p.relative_to(root).as_posix()
    return next((k for k in known if path.endswith("/" + k)), path)


def build(out: Path, root: Path, known_files: set[str]) -> dict:
    """The index of a results folder's coverage runs; UserError when it has none."""
    plan_path = out / "plan.json"
    try:
        plan = json.loads(plan_path.read_text())
    except FileNotFoundError:
        raise UserError(f"--coverage-from {out}: no plan.json, not a regression's results folder") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"--coverage-from {out}: cannot read its plan.json ({exc})") from None
    covered_ids = {run["id"] for run in plan.get("runs", []) if run.get("coverage")}
    if not covered_ids:
        raise UserError(f"--coverage-from {out}: regression {plan.get('regression')!r} has no coverage runs")
    if not plan.get("commit"):
        raise UserError(f"--coverage-from {out}: plan.json records no git commit, so its line numbers map to nothing")
    records = {}
    results = out / "results.jsonl"
    if results.exists():
        for text in results.read_text(errors="replace").splitlines():
            try:
                record = json.loads(text)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("id") in covered_ids and record.get("log"):
                records[record["id"]] = record  # the last attempt's record wins
    reached: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    points: dict[str, set[int]] = defaultdict(set)
    seeds: dict[str, set[int]] = defaultdict(set)
    for record in records.values():
        dat_files = sorted((out / record["log"]).parent.glob("*.dat"))
        if not dat_files:
            continue
        key = test_key(record["block"], record["variant"], record.get("parameters") or {}, record["test"])
        seeds[key].add(record["seed"])
        for point, count in code_coverage.merge_counts(dat_files, LINE_KINDS).items():
            if point.kind not in LINE_KINDS:
                continue
            file = _relative(point.file, root, known_files)
            points[file].update(point.span)
            if count > 0:
                reached[key][file].update(point.span)
    if not seeds:
        raise UserError(f"--coverage-from {out}: no coverage.dat in its runs (did the coverage runs run?)")
    return {
        "format": 1,
        "regression": plan.get("regression"),
        "commit": plan["commit"],
        "dirty": plan.get("dirty", []),
        "points": {f: sorted(lines) for f, lines in sorted(points.items())},
        "tests": {
            key: {"seeds": sorted(seeds[key]), "lines": {f: sorted(n) for f, n in sorted(reached[key].items())}}
            for key in sorted(seeds)
        },
    }


def load(out: Path, root: Path, known_files: set[str]) -> dict:
    """OUT/test-reach.json, built (and written) first when missing."""
    if not out.is_dir():
        raise UserError(f"--coverage-from {out}: no such folder")
    path = out / INDEX_FILE
    if path.exists():
        try:
            index = json.loads(path.read_text())
            if index.get("format") == 1:
                return index
        except ValueError:
            pass  # torn or foreign: rebuilt below
    index = build(out, root, known_files)
    with contextlib.suppress(OSError):  # a read-only coverage folder still serves: rebuilt next time
        path.write_text(json.dumps(index, indent=1))
    return index


def revision_now(root: Path) -> dict:
    """The commit the checkout is at and its RTL files with uncommitted edits (for plan.json)."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    if head.returncode != 0:
        return {"commit": None, "dirty": []}
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", "rtl"], cwd=root, capture_output=True, text=True
    )
    return {"commit": head.stdout.strip(), "dirty": sorted(line[3:] for line in status.stdout.splitlines())}


def write_after(out: Path, root: Path, known_files: set[str], log) -> None:
    """At the end of a regression with coverage runs: its index, for a later --coverage-from."""
    try:
        index = build(out, root, known_files)
        (out / INDEX_FILE).write_text(json.dumps(index, indent=1))
    except (UserError, OSError) as exc:
        log(f"no per-test coverage index: {exc}")
        return
    log(f"per-test line coverage of {len(index['tests'])} tests: {out / INDEX_FILE} (for --coverage-from)")
