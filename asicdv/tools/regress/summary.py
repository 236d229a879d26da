"""summary.json: merged coverage, comparison with the previous regression, failure buckets."""

from __future__ import annotations

import importlib.util
import json
import shlex
from datetime import datetime
from pathlib import Path

from asicdv.tools.blocks import Block
from asicdv.tools.regress import formal_entries
from asicdv.tools.regress.config import RunSpec
from asicdv.tools.regress.results import ResultStore, now, write_atomic

# ---------------------------------------------------------------- summary


def bin_verdicts(formal: dict | None) -> dict[str, dict[str, dict]]:
    """The formal rows of reach tasks by block/coverpoint and bin: {verdict, reason or witness}."""
    found: dict[str, dict[str, dict]] = {}
    for r in (formal or {}).get("properties", []):
        if r["kind"] != "bin" or "[" not in r["property"]:
            continue
        point, _, name = r["property"][:-1].partition("[")
        if r["verdict"] == "unreachable":
            note = {"reason": f"proved unreachable: asicdv formal, k-induction k={r['depth']} ({r['reproduce']})"}
        elif r["verdict"] == "reachable":
            witness = {"trace": r["counterexample"], "link": r["links"].get("counterexample")}
            note = {"witness": witness}
            fill = r.get("fill")
            if fill and fill["filled"]:
                note["filled_by"] = {
                    "test": fill["test"],
                    **witness,
                    "reproduce": fill["reproduce"],
                    "log": fill["log"],
                }
        else:
            continue
        found.setdefault(f"{r['block']}/{point}", {})[name] = {"verdict": r["verdict"], **note}
    return found


def merge_functional_coverage(records: list[dict], formal_bins: dict | None = None) -> dict | None:
    """Sum every run's coverage.json per block/coverpoint: hits per bin, % of bins hit, holes. A hole
    that formal proved unreachable (formal_bins, from bin_verdicts) is excluded with the proof as
    its reason; a hole formal reached keeps its witness trace (the stimulus that fills it). The
    directed tests made from witnesses are runs too (formal_entries.fill_runs): a bin one filled
    names it under `filled` (test, witness, reproduce)."""
    merged: dict[str, dict[str, int]] = {}
    for record in records:
        for point, bins in (record.get("functional_coverage") or {}).items():
            target = merged.setdefault(f"{record['block']}/{point}", {})  # two blocks may reuse a name
            for name, hits in bins.items():
                target[name] = target.get(name, 0) + int(hits)
    if not merged:
        return None
    points = {}
    for point, bins in sorted(merged.items()):
        proofs = (formal_bins or {}).get(point, {})
        excluded = {
            name: proofs[name]["reason"]
            for name, hits in bins.items()
            if hits == 0 and proofs.get(name, {}).get("verdict") == "unreachable"
        }
        counted = {name: hits for name, hits in bins.items() if name not in excluded}
        hit = sum(1 for hits in counted.values() if hits > 0)
        holes = sorted(name for name, hits in counted.items() if hits == 0)
        points[point] = {
            "bins": len(counted),
            "hit": hit,
            "percent": round(100.0 * hit / len(counted), 2) if counted else 100.0,
            "holes": holes,
            "hits": bins,
            "excluded": excluded,
            "witnesses": {n: proofs[n]["witness"] for n in holes if proofs.get(n, {}).get("verdict") == "reachable"},
            "filled": {n: proofs[n]["filled_by"] for n in bins if "filled_by" in proofs.get(n, {})},
        }
    total_bins = sum(p["bins"] for p in points.values())
    total_hit = sum(p["hit"] for p in points.values())
    return {
        "percent": round(100.0 * total_hit / total_bins, 2) if total_bins else 100.0,
        "coverpoints": points,
    }


def merge_code_coverage(out: Path, specs: list[RunSpec], runs: list[dict]) -> dict | None:
    """The coverage runs' code coverage merged into out/codecov, as the summary gives it."""
    if not any(s.coverage for s in specs) or importlib.util.find_spec("asicdv.tools.code_coverage") is None:
        return None
    from asicdv.tools import code_coverage as codecov

    covered = {s.id for s in specs if s.coverage}
    # Each run's own attempt folder (the one its record names), not whatever else is in runs/<id>/.
    dat_files = [
        p for r in runs if r["id"] in covered and r.get("log") for p in sorted((out / r["log"]).parent.glob("*.dat"))
    ]
    if not dat_files:
        return None
    return {"summary": codecov.merge(dat_files, out / "codecov"), "html": "codecov/html/index.html"}


def read_sessions(out: Path) -> list[dict]:
    """Every session of the folder, in order: a session's start line merged with its end line."""
    path = out / "sessions.jsonl"
    if not path.exists():
        return []
    sessions: dict[str, dict] = {}
    for number, line in enumerate(path.read_bytes().splitlines()):
        try:
            entry = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if not isinstance(entry, dict):
            continue
        name = entry.get("session") if isinstance(entry.get("session"), str) else f"line-{number}"
        sessions[name] = {**sessions.get(name, {}), **entry}
    result = []
    for entry in sessions.values():
        entry.setdefault("wall_s", 0.0)
        if entry.get("state") == "running":  # no end line: killed (or the disk filled)
            entry["interrupted"] = True
        result.append(entry)
    return result


def _seconds_between(start: str, end: str) -> float:
    try:
        return max(0.0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    except (TypeError, ValueError):
        return 0.0


def close_killed_sessions(sessions: ResultStore, results: ResultStore) -> list[dict]:
    """Record every session that started and never ended (its process was killed) as interrupted, its
    wall time up to its last recorded run. Called with the folder's lock held, so none is running."""
    ended = []
    records = list(results.load().values())
    for name, entry in sessions.load().items():
        if entry.get("state") != "running":
            continue
        last = max((r.get("finished", "") for r in records if r.get("session") == name), default="")
        closing = {
            "session": name,
            "state": "killed",
            "interrupted": True,
            "wall_s": round(_seconds_between(entry.get("started", ""), last), 2) if last else 0.0,
        }
        sessions.append(closing)
        ended.append({**entry, **closing})
    return ended


def compare(current: list[dict], previous: list[dict]) -> dict:
    """New failures, fixes and flaky runs against a previous regression's runs (test level: block/variant/test)."""

    def failing(records):
        return {r["key"] for r in records if r["status"] == "fail"}

    now_failing, before_failing = failing(current), failing(previous)
    now_seen = {r["key"] for r in current}
    return {
        "new_failures": sorted(now_failing - before_failing),
        "fixed": sorted(k for k in before_failing - now_failing if k in now_seen),
        "still_failing": sorted(now_failing & before_failing),
        "flaky": sorted(r["id"] for r in current if r.get("flaky")),
    }


def buckets(records: list[dict], first: int = 3) -> list[dict]:
    grouped: dict[str, list[dict]] = {}
    for record in records:
        if record["status"] == "fail":
            grouped.setdefault(record["signature"], []).append(record)
    result = []
    for sig, members in sorted(grouped.items(), key=lambda item: -len(item[1])):
        result.append(
            {
                "signature": sig,
                "count": len(members),
                "tests": sorted({m["key"] for m in members}),
                "message": members[0]["message"],
                "runs": [
                    {
                        k: m.get(k)
                        for k in ("id", "seed", "reproduce", "log", "waves", "flaky", "reproducible", "picture", "gtkw")
                    }
                    for m in members[:first]
                ],
            }
        )
    return result


def summarize(
    out: Path, blocks: dict[str, Block] | None = None, write: bool = True, code_coverage: dict | None = None
) -> dict:
    """summary.json from plan.json, results.jsonl, builds.json, sessions.jsonl and previous-summary.json
    (write=False: only returned, for a folder that can no longer be written; `code_coverage`: what
    `merge_code_coverage` gave for these runs, merged while the formal runs went on; None: merged here)."""
    saved = json.loads((out / "plan.json").read_text())
    specs = [RunSpec(**fields) for fields in saved["runs"]]
    records = ResultStore(out).load()
    runs = [records[s.id] for s in specs if s.id in records]
    missing = [s.id for s in specs if s.id not in records]
    sessions = read_sessions(out)
    previous_path = out / "previous-summary.json"
    previous = json.loads(previous_path.read_text()) if previous_path.exists() else None
    passed = sum(r["status"] == "pass" for r in runs)
    lost = sum(r["status"] == "infrastructure" for r in runs)  # the farm lost them: judged neither way
    judged = len(runs) - lost
    formal = formal_entries.summarize(out, saved.get("formal", []))
    summary = {
        "regression": saved["regression"],
        "invocation": saved.get("invocation", saved["regression"]),
        # Commands the report prints, quoted with the shell's rules (a file name may hold anything).
        "replay_command": shlex.join(
            ["asicdv", "regress", saved.get("invocation", saved["regression"]), "--seed", str(saved["seed"])]
        ),
        "resume_command": shlex.join(
            ["asicdv", "regress", saved.get("invocation", saved["regression"]), "--out", str(out), "--resume"]
        ),
        "file": saved["file"],
        "seed": saved["seed"],
        "created": saved["created"],
        "written": now(),
        "wall_s": round(sum(s["wall_s"] for s in sessions), 2),
        "sessions": sessions,
        "counts": {
            "planned": len(specs),
            "done": len(runs),
            "passed": passed,
            "failed": judged - passed,
            "infrastructure": lost,
            "missing": len(missing),
            "flaky": sum(bool(r.get("flaky")) for r in runs),
        },
        "pass_rate": round(100.0 * passed / judged, 2) if judged else 0.0,
        "runs": runs,
        "missing": missing,
        "buckets": buckets(runs),
        "builds": json.loads((out / "builds.json").read_text()) if (out / "builds.json").exists() else {},
        "functional_coverage": merge_functional_coverage(
            [*runs, *formal_entries.fill_runs(formal)], bin_verdicts(formal)
        ),
        "code_coverage": (code_coverage or merge_code_coverage(out, specs, runs)) if write else None,
        "formal": formal,
        "previous": (
            {
                "written": previous.get("written"),
                "seed": previous.get("seed"),
                **compare(runs, previous["runs"]),
            }
            if previous
            else None
        ),
    }
    if write:
        write_atomic(out / "summary.json", json.dumps(summary, indent=1))
    return summary
