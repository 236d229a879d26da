"""Formal entries of a regression (`formal: true`): the plan, the runs and their property rows.

    entries:
      - {block: crc32, formal: true}                                   # every task, every legal value
      - {block: sha256d, formal: true, tasks: [fifo], parameters: {FIFO_DEPTH: 3}, depth: 4}

A formal entry names formal tasks (tb/<block>/formal/formal.yaml) instead of tests; it has no seeds
and no simulator build: one `asicdv formal` run (FormalSpec) per task and parameter set, each giving
one row per property (proved / bounded to N / failed with a counterexample). A run is a task of
the regression's executor, like a simulation run: a local thread, or a worker of the Dask cluster
or batch farm (`execute`, whose result the regression's own process turns into rows: `finish`).
Rows go to OUT/formal.jsonl (one line per run, as it ends: --resume skips what is there) and, as
`asicdv formal` writes them, to results/formal/<block>/results.json, so the replay line of a
failed row works as printed.
"""

from __future__ import annotations

import fnmatch
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools import formal
from asicdv.tools.blocks import Block
from asicdv.tools.regress.results import ResultStore, now

FORMAL_KEYS = ("block", "formal", "tasks", "variants", "parameters", "depth", "timeout_s")
FORMAL_ONLY = ("tasks", "depth")
FORMAL_DEFAULTS = ("timeout_s",)  # the file's defaults that also apply to its formal entries
# Not failures: a cover not reached is a bound; a coverage bin's reachability is a finding.
PASSING = ("proved", "bounded", "covered", "not_covered", "unreachable", "reachable")
STORE = "formal.jsonl"


@dataclass(frozen=True)
class FormalSpec:
    """One planned formal run: a task at one variant and parameter set."""

    id: str
    block: str
    variant: str | None
    parameters: dict
    task: str
    depth: int | None = None  # None: the task's own
    timeout_s: float | None = None

    @property
    def key(self) -> str:
        """How runs compare across regressions (block/formal/task-variant-parameters)."""
        return f"{self.block}/formal/{self.task}{_suffix(self.variant, self.parameters)}"

    def reproduce(self) -> str:
        return formal.command_line(self.block, self.task, self.variant, self.parameters, self.depth)


def _suffix(variant: str | None, parameters: dict) -> str:
    return (f"-{variant}" if variant else "") + "".join(f"-{k}{v}" for k, v in sorted(parameters.items()))


def is_formal(entry: dict) -> bool:
    return entry.get("formal") is True


def check_entry(where: str, entry: dict) -> None:
    """The keys a formal entry takes, and the formal-only keys an ordinary entry may not have."""
    if is_formal(entry):
        extra = [k for k in entry if k not in FORMAL_KEYS]
        if extra:
            raise UserError(
                f"{where}: a formal entry (formal: true) takes no {', '.join(map(repr, extra))} "
                f"(it runs formal tasks, not tests; keys: {', '.join(FORMAL_KEYS)})"
            )
    else:
        given = [k for k in FORMAL_ONLY if k in entry]
        if given:
            raise UserError(f"{where}: {', '.join(map(repr, given))} belong to formal entries (add formal: true)")


def check_parameters(where: str, block: Block, parameters: dict) -> None:
    """A regression entry's fixed parameters: each a parameter of the block, at a legal value."""
    known = set(block.parameters) | {p for values in block.variants.values() for p in values}
    for name, value in parameters.items():
        if name not in known:
            raise UserError(
                f"{where}: unknown parameter {name!r} for block {block.name}; known: {', '.join(sorted(known))}"
            )
        legal = block.parameters.get(name)
        if legal is not None and value not in legal:
            raise UserError(f"{where}: {name}={value} is not a legal value for {block.name} (legal: {list(legal)})")


def plan_entry(path: Path, index: int, entry: dict, blocks: dict[str, Block]) -> list[FormalSpec]:
    """Every formal run of one entry (`block: all` = every block with formal tasks)."""
    where = f"{path}: entry {index}"
    check_entry(where, entry)
    if entry["block"] == "all":
        named = [k for k in ("tasks", "variants", "parameters") if k in entry]
        if named:
            raise UserError(f"{where}: block: all takes no {', '.join(named)} (name one block)")
        chosen = [b for b in blocks.values() if formal.formal_file(b).is_file()]
        return [s for b in chosen for s in _plan_block(where, b, {**entry, "block": b.name})]
    if entry["block"] not in blocks:
        raise UserError(f"{where}: unknown block {entry['block']!r}; known blocks: {', '.join(blocks)}")
    block = blocks[entry["block"]]
    if not formal.formal_file(block).is_file():
        raise UserError(f"{where}: block {block.name} has no formal tasks ({formal.formal_file(block)} does not exist)")
    specs = _plan_block(where, block, entry)
    if not specs:
        raise UserError(f"{where}: plans no formal run (no task runs on the variants named)")
    return specs


def _plan_block(where: str, block: Block, entry: dict) -> list[FormalSpec]:
    tasks = formal.load_tasks(block)
    names = entry.get("tasks")
    if names is not None:
        known = [t.name for t in tasks]
        for name in names:
            if name not in known:
                raise UserError(f"{where}: unknown formal task {name!r} for {block.name}; known: {', '.join(known)}")
        tasks = [t for t in tasks if t.name in names]
    variants = entry.get("variants", "all")
    for name in variants if isinstance(variants, list) else []:
        if name not in block.variants:
            raise UserError(
                f"{where}: unknown variant {name!r} for block {block.name}; known: {', '.join(block.variants)}"
            )
    parameters = entry.get("parameters", {})
    check_parameters(where, block, parameters)
    specs = []
    for task in tasks:
        for variant in [None] if variants == "all" else variants:
            for v, params in formal.parameter_sets(block, task, variant, parameters):
                suffix = _suffix(v, params)
                specs.append(
                    FormalSpec(
                        id=f"{block.name}.formal.{task.name}{suffix}",
                        block=block.name,
                        variant=v,
                        parameters=params,
                        task=task.name,
                        depth=entry.get("depth"),
                        timeout_s=entry.get("timeout_s"),
                    )
                )
    return specs


def plan(entries: list[tuple[Path, int, dict]], blocks: dict[str, Block]) -> list[FormalSpec]:
    """Every formal run of the regression, in file order, duplicates dropped."""
    runs: dict[str, FormalSpec] = {}
    for path, index, entry in entries:
        if is_formal(entry):
            for spec in plan_entry(path, index, entry, blocks):
                runs.setdefault(spec.id, spec)
    return list(runs.values())


def matches(spec: FormalSpec, pattern: str) -> bool:
    """--filter: a glob on the task name, the key or the run id."""
    return any(fnmatch.fnmatchcase(text, pattern) for text in (spec.task, spec.key, spec.id))


def fill_bin(record: formal.Record, out: Path) -> dict:
    """A reachable bin's directed test (formal.fill) in a regression: filled or not, the run's
    functional coverage (summed into the regression's), its log and the command that reruns it."""
    command = formal.command_line(record.block, record.task, record.variant, record.parameters, fill=record.property)
    try:
        result = formal.fill(record, out_root=out / "formal" / record.block)
    except Exception as exc:  # noqa: BLE001 - a build error is this bin's result, not the regression's
        message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        return {
            "test": "FormalFillTest",
            "filled": False,
            "message": message,
            "coverage": None,
            "log": None,
            "witness": record.counterexample,
            "reproduce": command,
            "seconds": 0.0,
        }
    coverage_file = result.run_dir / "coverage.json"
    return {
        "test": "FormalFillTest",
        "filled": result.passed,
        "message": result.message,
        "coverage": json.loads(coverage_file.read_text()) if coverage_file.exists() else None,
        "log": os.path.relpath(result.log, out),
        "witness": record.counterexample,
        "reproduce": command,
        "seconds": round(result.wall_s, 2),
    }


def fill_runs(formal_summary: dict | None) -> list[dict]:
    """The directed fill tests' functional coverage, as run records the coverage merge sums."""
    return [
        {"block": r["block"], "functional_coverage": r["fill"]["coverage"]}
        for r in (formal_summary or {}).get("properties", [])
        if r.get("fill") and r["fill"]["coverage"]
    ]


def row(spec: FormalSpec, record: formal.Record, out: Path, fill: dict | None = None) -> dict:
    """One property's result row: asicdv formal's record (paths from the project's root) plus the
    regression's view of it (links from the results folder, where the report is); a reachable
    bin's row holds its directed test (`fill`), and fails when the witness did not fill the bin."""
    failed = record.verdict not in PASSING or (fill is not None and not fill["filled"])
    status = "infrastructure" if record.verdict == "infrastructure" else "fail" if failed else "pass"
    root = projects.current().root
    links = {
        name: os.path.relpath(root / getattr(record, name), out)
        for name in ("counterexample", "waves")
        if getattr(record, name)
    }
    return {
        "links": links,
        **asdict(record),
        "run": spec.id,
        "key": f"{spec.key}/{record.property}",
        "status": status,
        "reproduce": spec.reproduce(),
        "replay": (
            formal.command_line(spec.block, spec.task, spec.variant, spec.parameters, replay=True)
            if record.verdict == "failed" and record.counterexample
            else None
        ),
        "fill": fill,
    }


def _task_record(spec: FormalSpec, verdict: str, message: str) -> dict:
    """The one record of a run that gave no property verdict: a tool error, or infrastructure."""
    return asdict(
        formal.Record(
            spec.block, spec.variant, dict(spec.parameters), spec.task, "(task)", "assert", verdict, 0, 0.0, message
        )
    )


def execute(spec_fields: dict, block: Block, out: str) -> dict:
    """One formal run, in a thread of this process or on a farm's worker: asicdv formal's records,
    and where it ran. Formal tools missing on that machine is infrastructure (the worker's
    environment, not the design); any other error of the run is its `error` record."""
    spec = FormalSpec(**spec_fields)
    start = time.monotonic()
    try:
        formal.check_tools()
        task = next(t for t in formal.load_tasks(block) if t.name == spec.task)
        records = formal.run_task(
            block,
            task,
            spec.variant,
            spec.parameters,
            spec.depth,
            out_root=Path(out) / "formal" / spec.block,
            timeout_s=spec.timeout_s,
        )
        found = [asdict(r) for r in records]
    except formal.ToolMissing as exc:
        found = [_task_record(spec, "infrastructure", f"{exc} (host {socket.gethostname()})")]
    except Exception as exc:  # noqa: BLE001 - one run's error (e.g. a depth that does not evaluate), not the regression's
        found = [
            _task_record(spec, "error", str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}")
        ]
    return {
        "records": found,
        "wall_s": round(time.monotonic() - start, 2),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def raised(spec: FormalSpec, exc: BaseException, infrastructure: bool) -> dict:
    """What execute stands for when its task raised: the farm lost it (worker died, job cancelled:
    infrastructure), or it could not run at all (an error)."""
    message = f"{'lost to the farm' if infrastructure else 'run raised'}: {type(exc).__name__}: {exc}"
    verdict = "infrastructure" if infrastructure else "error"
    return {"records": [_task_record(spec, verdict, message)], "wall_s": 0.0, "host": None, "pid": None}


def finish(spec: FormalSpec, result: dict, out: Path) -> dict:
    """(In the regression's process.) A run's execute result -> its formal.jsonl record with the
    property rows; the verdicts also go to results/formal/<block>/results.json, where `asicdv
    formal --replay` finds a counterexample (a run that had no verdict does not replace them)."""
    records = [formal.Record(**r) for r in result["records"]]
    if not any(r.verdict == "infrastructure" for r in records):
        formal.write_results(records, formal.results_dir() / spec.block / "results.json")
    # A reachable bin's directed test runs here, in the regression's process (a Verilator build).
    rows = [row(spec, r, out, fill_bin(r, out) if r.verdict == "reachable" else None) for r in records]
    statuses = {r["status"] for r in rows}
    return {
        "id": spec.id,
        "key": spec.key,
        "finished": now(),
        "wall_s": result["wall_s"],
        "host": result["host"],
        "pid": result["pid"],
        "status": "fail" if "fail" in statuses else "infrastructure" if "infrastructure" in statuses else "pass",
        "properties": rows,
    }


def log_rows(record: dict, log) -> None:
    for r in record["properties"]:
        log(f"formal {record['id']} {r['property']}: {describe(r)} ({r['seconds']:.1f} s)")
        if r["replay"]:
            log(f"  replay: {r['replay']}")
        if r.get("fill") and not r["fill"]["filled"]:
            log(f"  not filled: {r['fill']['message'].splitlines()[0]}\n  reproduce: {r['fill']['reproduce']}")


def rerun(r: dict) -> str:
    """The command to look at a row again: its replay (failed), its fill test (a reachable bin its
    witness did not fill), else the formal run."""
    fill = r.get("fill")
    return r["replay"] or (fill["reproduce"] if fill and not fill["filled"] else r["reproduce"])


def describe(r: dict) -> str:
    """A row's verdict as people read it: proved (k=4), bounded (8), failed at step 3, ..."""
    verdict, depth = r["verdict"], r["depth"]
    if verdict == "proved":
        return f"proved (k={depth})"
    if verdict == "bounded":
        return f"bounded ({depth})"
    if verdict == "failed":
        return f"failed at step {depth}" + (f", counterexample {r['counterexample']}" if r["counterexample"] else "")
    if verdict == "unreachable":
        return f"unreachable (proved, k={depth})"
    if verdict == "reachable":
        fill = r.get("fill")
        done = "" if not fill else (f", filled by {fill['test']}" if fill["filled"] else ", NOT filled in simulation")
        return f"reachable at step {depth}, witness {r['counterexample']}{done}"
    if verdict in ("error", "infrastructure"):
        return f"{verdict}: {r['location'].splitlines()[0] if r['location'] else 'the tools failed'}"
    return f"{verdict} ({depth})"


def summarize(out: Path, planned: list[dict]) -> dict | None:
    """summary.json's `formal` section: counts by verdict and every property row (None: no formal entry)."""
    if not planned:
        return None
    records = ResultStore(out, STORE).load()
    done = [records[s["id"]] for s in planned if s["id"] in records]
    rows = [p for r in done for p in r["properties"]]
    verdicts: dict[str, int] = {}
    for r in rows:
        verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
    bounded = [r["depth"] for r in rows if r["verdict"] == "bounded"]
    return {
        "counts": {
            "planned": len(planned),
            "done": len(done),
            "missing": len(planned) - len(done),
            "properties": len(rows),
            "failed": sum(r["status"] == "fail" for r in rows),
            "infrastructure": sum(r["status"] == "infrastructure" for r in rows),
            "verdicts": verdicts,
        },
        "min_bounded_depth": min(bounded) if bounded else None,
        "hosts": sorted({r["host"] for r in done if r.get("host")}),  # where the formal runs ran
        "wall_s": round(sum(r["wall_s"] for r in done), 2),
        "missing": [s["id"] for s in planned if s["id"] not in records],
        "properties": rows,
    }
