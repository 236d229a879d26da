"""`asicdv gate OUT`: decide whether a regression's results are good enough to merge.

Rules come from the project's `gates` file (default `regressions/gates.yaml`, else the rules shipped
in the package, asicdv/resources/gates.yaml; or --config): every planned run has a result, a minimum pass
rate, no new failure against a baseline, a wall-time budget, coverage minima when coverage is present,
and (when the regression has formal entries) every formal property proved or bounded to at least
`formal_min_depth`.
Each rule prints its figure and PASS/FAIL; the exit code is 1 when any rule fails.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jsonschema

from asicdv import UserError, resource
from asicdv import project as projects
from asicdv.tools import inputfile
from asicdv.tools.regress import compare

PACKAGE_RULES = resource("gates.yaml")

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "complete": {"type": "boolean"},
        "min_pass_rate": {"type": "number", "minimum": 0, "maximum": 100},
        "no_new_failures": {"type": "boolean"},
        "baseline": {"type": "string"},
        "max_wall_s": {"type": "number", "exclusiveMinimum": 0},
        "formal_min_depth": {"type": "integer", "minimum": 1},
        "functional_coverage": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "min_percent": {"type": "number", "minimum": 0, "maximum": 100},
                "full": {"type": "array", "items": {"type": "string"}},
                "required": {"type": "boolean"},
            },
        },
        "code_coverage": {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: {"type": "number", "minimum": 0, "maximum": 100} for k in ("line", "branch", "toggle")},
        },
    },
}


def load_config(path: Path) -> dict:
    config = inputfile.load_yaml(path, "gate config") or {}
    if not isinstance(config, dict):
        raise UserError(f"{path}: a gate config is a YAML mapping of rules")
    errors = inputfile.schema_errors(SCHEMA, config)
    error = jsonschema.exceptions.best_match(errors) if errors else None
    if error is not None:
        where = ".".join(map(str, error.absolute_path))
        raise UserError(f"{path}: {where + ': ' if where else ''}{error.message}")
    return config


def _load_summary(path: Path, what: str) -> dict:
    summary = path / "summary.json" if path.is_dir() else path
    if not summary.exists():
        raise UserError(f"{what} {path}: no summary.json (run `asicdv regress` first)")
    try:
        return json.loads(inputfile.read_text(summary, "summary", max_bytes=1 << 30))
    except ValueError as exc:
        raise UserError(f"{summary}: not a summary asicdv wrote ({exc})") from None


def formal_rule(formal: dict | None, min_depth: int | None) -> tuple[str, str, bool]:
    """Every formal property proved, or bounded to at least min_depth; a failed property, a tool
    error, a bound below the minimum or a formal run without a result fails it, naming the first."""
    name = "formal" + (f" (>= {min_depth})" if min_depth else "")
    if not formal:
        return name, "no formal entry in this regression (formal_min_depth needs one)", False
    rows = formal["properties"]
    bad = []
    for r in rows:
        if r["verdict"] == "failed":
            bad.append(f"{r['key']} failed at step {r['depth']} (replay: {r['replay'] or r['reproduce']})")
        elif r.get("fill") and not r["fill"]["filled"]:
            bad.append(f"{r['key']} reachable but not filled by its witness in simulation ({r['fill']['reproduce']})")
        elif r["status"] != "pass":  # a tool error, or infrastructure (the formal tools missing on a worker)
            bad.append(f"{r['key']} {r['verdict']}: {(r['location'] or '').splitlines()[0] if r['location'] else ''}")
        elif min_depth and r["verdict"] == "bounded" and r["kind"] != "bin" and r["depth"] < min_depth:
            bad.append(f"{r['key']} bounded to {r['depth']} only (need >= {min_depth}; reproduce: {r['reproduce']})")
    bad += [f"{run} has no result" for run in formal["missing"]]
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        return name, f"{bad[0]}{more}", False
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(formal["counts"]["verdicts"].items()))
    shallowest = f", shallowest bound {formal['min_bounded_depth']}" if formal["min_bounded_depth"] else ""
    return name, f"{len(rows)} properties: {verdicts}{shallowest}", True


def evaluate(summary: dict, config: dict, baseline: dict | None) -> list[tuple[str, str, bool]]:
    """[(rule, figure, passed)] for every rule the config asks for."""
    rules = []
    counts = summary["counts"]
    if config.get("complete", True):
        rules.append(
            (
                "complete",
                f"{counts['done']}/{counts['planned']} runs have a result",
                counts["done"] == counts["planned"],
            )
        )
        lost = counts.get("infrastructure", 0)
        rules.append(("infrastructure", f"{lost} run(s) lost to the farm (neither passed nor failed)", lost == 0))
    if "min_pass_rate" in config and not (counts["planned"] == 0 and summary.get("formal")):
        rules.append(
            (
                "pass rate",
                f"{summary['pass_rate']:.2f}% (need >= {config['min_pass_rate']}%)",
                summary["pass_rate"] >= config["min_pass_rate"] and counts["done"] > 0,
            )
        )
    if config.get("no_new_failures"):
        new = compare(summary["runs"], baseline["runs"] if baseline else [])["new_failures"]
        against = f"baseline of {baseline.get('written')}" if baseline else "no baseline: every failure is new"
        listing = f": {', '.join(new[:5])}{' ...' if len(new) > 5 else ''}" if new else ""
        rules.append(("no new failures", f"{len(new)} new ({against}){listing}", not new))
    if "max_wall_s" in config:
        rules.append(
            (
                "time budget",
                f"{summary['wall_s']:.1f} s (budget {config['max_wall_s']} s)",
                summary["wall_s"] <= config["max_wall_s"],
            )
        )
    if summary.get("formal") or "formal_min_depth" in config:
        rules.append(formal_rule(summary.get("formal"), config.get("formal_min_depth")))
    functional = config.get("functional_coverage")
    if functional:
        merged = summary.get("functional_coverage")
        if merged is None:
            required = functional.get("required", False)
            rules.append(
                (
                    "functional coverage",
                    "no coverage.json in any run" + (" (required)" if required else ": rule skipped"),
                    not required,
                )
            )
        else:
            if "min_percent" in functional:
                rules.append(
                    (
                        "functional coverage",
                        f"{merged['percent']:.2f}% (need >= {functional['min_percent']}%)",
                        merged["percent"] >= functional["min_percent"],
                    )
                )
            for point in functional.get("full", []):
                figures = merged["coverpoints"].get(point)
                if figures is None:
                    rules.append((f"coverpoint {point}", "not in the results", False))
                else:
                    holes = f", holes: {', '.join(figures['holes'][:8])}" if figures["holes"] else ""
                    rules.append(
                        (f"coverpoint {point}", f"{figures['percent']:.1f}% (need 100%){holes}", not figures["holes"])
                    )
    code = config.get("code_coverage")
    if code:
        measured = (summary.get("code_coverage") or {}).get("summary")
        if not measured:
            rules.append(("code coverage", "not measured in this regression: rule skipped", True))
        for block, figures in (measured or {}).items():
            for kind, minimum in code.items():
                if figures.get(kind) is not None:  # None: the block has no point of that kind
                    rules.append(
                        (
                            f"code coverage {block} {kind}",
                            f"{figures[kind]:.1f}% (need >= {minimum}%)",
                            figures[kind] >= minimum,
                        )
                    )
    return rules


def command(args: argparse.Namespace) -> int:
    project = projects.current()
    if not args.out.exists() and not args.out.is_absolute() and len(args.out.parts) == 1:
        args.out = project.results / "regress" / args.out.name  # a regression's name
    summary = _load_summary(args.out, "results folder")
    config_path = args.config or project.gates or PACKAGE_RULES
    config = load_config(config_path)
    baseline = None
    baseline_path = args.baseline or (Path(config["baseline"]) if "baseline" in config else None)
    if baseline_path is not None:
        baseline = _load_summary(baseline_path, "baseline")
    elif (args.out / "previous-summary.json").exists():
        baseline = json.loads((args.out / "previous-summary.json").read_text())
    rules = evaluate(summary, config, baseline)
    print(f"gate {args.out} ({summary['regression']}, config {config_path}):")
    for rule, figure, passed in rules:
        print(f"  {'PASS' if passed else 'FAIL'}  {rule:<22} {figure}")
    failed = [rule for rule, _, passed in rules if not passed]
    print(f"gate: {'FAIL (' + ', '.join(failed) + ')' if failed else 'PASS'}")
    return 1 if failed else 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("gate", help="judge a regression's results against the project's gate rules")
    parser.add_argument("out", type=Path, help="a regression's results folder (holds summary.json), or its name")
    parser.add_argument(
        "--config",
        type=Path,
        help="gate rules (default: the project's 'gates' file, else the package's rules)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="results folder or summary.json to compare with "
        "(default: the config's 'baseline', else OUT/previous-summary.json)",
    )
    parser.set_defaults(handler=command)
