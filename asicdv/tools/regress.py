"""Named regressions: `regressions/<name>.yaml` -> builds -> runs -> results, failure buckets, report.

A regression file selects runs from the blocks' own test lists (`tb/<block>/block.yaml`):

    description: what this regression is for
    seed: 2026                  # optional master seed (default: a fresh one, printed)
    include: [smoke.yaml]       # other regression files, relative to this one
    defaults: {timeout_s: 600}  # entry fields applied to this file's entries
    entries:
      - block: kpu
        tests: all              # all | smoke | [names]   (block: all = every block, tests all|smoke)
        variants: all           # all | [names]
        parameters: {ROWS: 4, COLS: 4}
        reseeds: 3              # or seeds: [1, 2, 3]; default: the test's reseeds in block.yaml
        timeout_s: 900
        waves: false            # build with tracing for every run (failures get a waves rerun anyway)
        coverage: false         # Verilator code-coverage builds, merged by asicdv.tools.code_coverage
        replay: false           # hypothesis replays the examples saved by earlier failures first
        simulator: verilator
        module: tb.sim_fixtures # only for framework tests: run tests from another cocotb module

Every run seed is derived from the master seed, so `--seed N` replays a whole regression. Results go to
OUT (default `results/regress/<name>`): `plan.json`, `results.jsonl` (appended as each run ends, the
last line per run wins), `runs/<run id>/`, `hypothesis/` (failing examples), `summary.json`,
`junit.xml`, `report.html`.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import hashlib
import importlib.util
import inspect
import json
import os
import random
import re
import shlex
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import yaml

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import Block, all_blocks

SEED_LIMIT = 2**31 - 1
NOT_REGRESSIONS = {"gates", "gates-nightly", "dask-jobqueue"}  # other YAML files kept in regressions/

_ENTRY_PROPERTIES = {
    "block": {"type": "string"},
    "tests": {
        "oneOf": [
            {"enum": ["all", "smoke"]},
            {"type": "array", "items": {"type": "string"}, "minItems": 1},
        ]
    },
    "variants": {
        "oneOf": [
            {"const": "all"},
            {"type": "array", "items": {"type": "string"}, "minItems": 1},
        ]
    },
    "parameters": {"type": "object", "additionalProperties": {"type": "integer"}},
    "seeds": {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": SEED_LIMIT},
        "minItems": 1,
        "uniqueItems": True,
    },
    "reseeds": {"type": "integer", "minimum": 1},
    "timeout_s": {"type": "number", "exclusiveMinimum": 0},
    "waves": {"type": "boolean"},
    "coverage": {"type": "boolean"},
    "replay": {"type": "boolean"},
    "simulator": {"enum": ["verilator", "icarus"]},
    "module": {"type": "string", "pattern": r"^[A-Za-z_][\w.]*$"},
}
_DEFAULT_PROPERTIES = {k: v for k, v in _ENTRY_PROPERTIES.items() if k not in ("block", "tests", "seeds", "module")}

# JSON schema of a regression file (checked with jsonschema before anything runs).
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "asicdv regression file",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "seed": {"type": "integer", "minimum": 0, "maximum": SEED_LIMIT},
        "include": {"type": "array", "items": {"type": "string"}},
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": _DEFAULT_PROPERTIES,
        },
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["block"],
                "properties": _ENTRY_PROPERTIES,
                "not": {"required": ["seeds", "reseeds"]},
            },
        },
    },
    "anyOf": [{"required": ["entries"]}, {"required": ["include"]}],
}


@dataclass(frozen=True)
class RunSpec:
    """One planned simulation run."""

    id: str
    block: str
    variant: str
    parameters: dict  # overrides of the variant's Verilog parameters (only those that differ)
    test: str
    seed: int
    timeout_s: float | None = None
    waves: bool = False
    coverage: bool = False
    replay: bool = False
    simulator: str = "verilator"
    module: str | None = None

    @property
    def config(self) -> str:
        """The build this run needs, as a label (one build per distinct label)."""
        parts = [f"{self.block}[{self.variant}{_param_suffix(self.parameters)}]"]
        parts += [flag for flag, on in (("waves", self.waves), ("coverage", self.coverage)) if on]
        if self.simulator != "verilator":
            parts.append(self.simulator)
        return " ".join(parts)

    @property
    def key(self) -> str:
        """The test-level key (no seed): how runs are compared with a previous regression."""
        flavour = _flavour(self.simulator, self.coverage)
        return f"{self.block}/{self.variant}{_param_suffix(self.parameters)}{flavour}/{self.test}"

    def with_waves(self) -> RunSpec:
        return RunSpec(**{**asdict(self), "waves": True})


def _flavour(simulator: str, coverage: bool) -> str:
    """What sets a run apart beyond its parameters: another simulator, a coverage build."""
    return (f"-{simulator}" if simulator != "verilator" else "") + ("-cov" if coverage else "")


def _param_suffix(parameters: dict) -> str:
    return "".join(f"-{name}{value}" for name, value in sorted(parameters.items()))


# ---------------------------------------------------------------- loading and validation


def resolve(name: str) -> Path:
    """A regression name (`smoke`) or a path to a YAML file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or os.sep in name:
        if not path.exists():
            raise UserError(f"regression file {name} does not exist")
        return path.resolve()
    folder = projects.current().regressions
    path = folder / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml") if p.stem not in NOT_REGRESSIONS))
        raise UserError(
            f"unknown regression {name!r}; known in {folder}: {known or 'none'} (or give a path to a .yaml file)"
        )
    return path


def _describe(error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    where = ""
    if len(path) >= 2 and path[0] == "entries":
        where = f"entry {path[1] + 1}: "
        path = path[2:]
    elif path:
        where = f"{path[0]}: "
        path = path[1:]
    field_ = ".".join(str(p) for p in path)
    if error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)' (?:was|were) unexpected", error.message)
        unexpected = extra or re.findall(r"'([^']+)'", error.message.split("(")[-1])
        allowed = ", ".join(error.schema.get("properties", {}))
        return f"{where}unknown key {', '.join(map(repr, unexpected))} (allowed: {allowed})"
    if error.validator == "not" and "seeds" in str(error.instance):
        return f"{where}give either 'seeds' or 'reseeds', not both"
    if error.validator == "required":
        return f"{where}{error.message}"
    if error.validator in ("oneOf", "anyOf"):
        if not error.absolute_path:
            return "a regression file needs 'entries' or 'include'"
        return f"{where}{field_}: {error.instance!r} is not valid (e.g. tests: all | smoke | [names])"
    return f"{where}{field_ + ': ' if field_ else ''}{error.message}"


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark else ""
        raise UserError(f"{path}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a regression file is a YAML mapping with 'entries' (and/or 'include')")
    errors = sorted(
        jsonschema.Draft202012Validator(SCHEMA).iter_errors(data),
        key=lambda e: list(map(str, e.path)),
    )
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise UserError(f"{path}: {_describe(errors[0])}{more}")
    return data


def load(path: Path, _seen: tuple[Path, ...] = ()) -> tuple[dict, list[tuple[Path, int, dict]]]:
    """The file's top-level data and every entry (includes first), each with its file and 1-based index."""
    path = path.resolve()
    if path in _seen:
        raise UserError(f"{_seen[-1]}: include cycle through {path}")
    data = _read(path)
    entries: list[tuple[Path, int, dict]] = []
    for name in data.get("include", []):
        included = (path.parent / name).resolve()
        if not included.exists():
            raise UserError(f"{path}: include {name!r}: no such file {included}")
        entries += load(included, (*_seen, path))[1]
    defaults = data.get("defaults", {})
    for index, entry in enumerate(data.get("entries", []), 1):
        entries.append((path, index, {**defaults, **entry}))
    return data, entries


def _build_accepts(option: str) -> bool:
    return option in inspect.signature(sim.build).parameters


def check_entry(path: Path, index: int, entry: dict, blocks: dict[str, Block]) -> None:
    """The checks a schema cannot make: names against the blocks' own files."""
    where = f"{path}: entry {index}"
    if entry["block"] not in blocks:
        raise UserError(f"{where}: unknown block {entry['block']!r}; known blocks: {', '.join(blocks)}")
    block = blocks[entry["block"]]
    tests = entry.get("tests", "all")
    if isinstance(tests, list):
        if "module" in entry:
            _check_module_tests(where, entry["module"], tests)
        else:
            known = [t.name for t in block.tests]
            for name in tests:
                if name not in known:
                    raise UserError(f"{where}: unknown test {name!r} for block {block.name}; known: {', '.join(known)}")
    elif "module" in entry:
        raise UserError(f"{where}: with 'module' give the test names as a list")
    variants = entry.get("variants", "all")
    for name in variants if isinstance(variants, list) else []:
        if name not in block.variants:
            raise UserError(
                f"{where}: unknown variant {name!r} for block {block.name}; known: {', '.join(block.variants)}"
            )
    known_params = sorted({p for params in block.variants.values() for p in params})
    for name in entry.get("parameters", {}):
        if name not in known_params:
            raise UserError(
                f"{where}: unknown parameter {name!r} for block {block.name}; known: {', '.join(known_params) or 'none'}"
            )
    simulator = entry.get("simulator", "verilator")
    if simulator != "verilator" and not _build_accepts("simulator"):
        raise UserError(
            f"{where}: simulator {simulator!r} is not supported by this checkout's asicdv.tools.simulator.build"
        )
    if simulator == "icarus" and (entry.get("coverage") or entry.get("waves")):
        raise UserError(f"{where}: simulator icarus takes no coverage or waves builds (Verilator only)")
    if entry.get("coverage") and not _build_accepts("coverage"):
        raise UserError(
            f"{where}: coverage: true needs code-coverage builds, which this checkout's asicdv.tools.simulator lacks"
        )


def _check_module_tests(where: str, module: str, tests: list[str]) -> None:
    # The simulator imports it with the checkout on PYTHONPATH: look there first (tests/ is no package).
    path = projects.current().root.joinpath(*module.split(".")).with_suffix(".py")
    if not path.exists():
        spec = importlib.util.find_spec(module) if importlib.util.find_spec(module.split(".")[0]) else None
        if spec is None or not spec.origin:
            raise UserError(f"{where}: module {module!r} not found")
        path = Path(spec.origin)
    source = path.read_text()
    for name in tests:
        if not re.search(rf"async def {re.escape(name)}\b", source):
            raise UserError(f"{where}: module {module} has no cocotb test {name!r}")


def derive_seed(master: int, *parts) -> int:
    """A run seed from the master seed and the run's identity: same master seed, same plan."""
    digest = hashlib.sha256(":".join(map(str, (master, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_LIMIT + 1


def plan(
    entries: list[tuple[Path, int, dict]],
    master_seed: int,
    blocks: dict[str, Block] | None = None,
) -> list[RunSpec]:
    """Every run of the regression, in file order, duplicates dropped."""
    blocks = blocks or all_blocks()
    runs: dict[str, RunSpec] = {}
    expanded = []
    for path, index, entry in entries:
        if entry["block"] != "all":
            expanded.append((path, index, entry))
            continue
        # `block: all` is every block of tb/*/block.yaml, so a new block needs no regression edit.
        specific = [key for key in ("variants", "parameters", "module", "seeds") if key in entry]
        if isinstance(entry.get("tests"), list):
            specific.insert(0, "a list of tests")
        if specific:
            raise UserError(f"{path}: entry {index}: block: all takes no {', '.join(specific)} (name one block)")
        expanded += [(path, index, {**entry, "block": name}) for name in blocks]
    for path, index, entry in expanded:
        check_entry(path, index, entry, blocks)
        block = blocks[entry["block"]]
        tests = entry.get("tests", "all")
        if tests == "all":
            specs = [(t.name, t.reseeds) for t in block.tests]
        elif tests == "smoke":
            specs = [(t.name, t.reseeds) for t in block.tests if t.smoke]
        elif "module" in entry:
            specs = [(name, 1) for name in tests]
        else:
            specs = [(name, block.test(name).reseeds) for name in tests]
        variants = entry.get("variants", "all")
        for variant in list(block.variants) if variants == "all" else variants:
            defaults = block.variant(variant)
            overrides = {k: v for k, v in sorted(entry.get("parameters", {}).items()) if defaults.get(k) != v}
            for test, reseeds in specs:
                if "seeds" in entry:
                    seeds = entry["seeds"]
                else:
                    count = entry.get("reseeds", reseeds)
                    seeds = [derive_seed(master_seed, block.name, variant, overrides, test, i) for i in range(count)]
                for seed in seeds:
                    flavour = _flavour(entry.get("simulator", "verilator"), entry.get("coverage", False))
                    run_id = f"{block.name}.{variant}{_param_suffix(overrides)}{flavour}.{test}.{seed}"
                    runs.setdefault(
                        run_id,
                        RunSpec(
                            run_id,
                            block.name,
                            variant,
                            overrides,
                            test,
                            seed,
                            timeout_s=entry.get("timeout_s"),
                            waves=entry.get("waves", False),
                            coverage=entry.get("coverage", False),
                            replay=entry.get("replay", False),
                            simulator=entry.get("simulator", "verilator"),
                            module=entry.get("module"),
                        ),
                    )
    return list(runs.values())


def matches(spec: RunSpec, pattern: str) -> bool:
    """--filter: a glob on the test name, on block/variant/test, or on the run id."""
    return any(fnmatch.fnmatchcase(text, pattern) for text in (spec.test, spec.key, spec.id))


# ---------------------------------------------------------------- results


class ResultStore:
    """`results.jsonl`: one JSON line per finished run, written whole and synced as the run ends."""

    def __init__(self, out: Path):
        self.path = out / "results.jsonl"
        self._lock = threading.Lock()

    def append(self, record: dict) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock, open(self.path, "a") as stream:
            stream.write(line)
            stream.flush()
            os.fsync(stream.fileno())

    def load(self) -> dict[str, dict]:
        """The latest record of every run (a line cut short by a kill is ignored)."""
        records: dict[str, dict] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                records[record["id"]] = record
        return records


_SIGNATURE_RULES = [
    (re.compile(r"(?:[\w.-]*/)+[\w.-]+"), "<path>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (
        re.compile(
            r"\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b|\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b"
        ),
        "<hex>",
    ),
    (re.compile(r"\b\d+(?:\.\d+)?\b"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def signature(message: str) -> str:
    """A failure's bucket: its first line with numbers, hex and paths stripped."""
    first = next((line for line in message.splitlines() if line.strip()), "(no message)")
    for pattern, replacement in _SIGNATURE_RULES:
        first = pattern.sub(replacement, first)
    return first.strip()[:200]


def hypothesis_env(out: Path, spec: RunSpec) -> dict[str, str]:
    """Where hypothesis keeps this test's failing examples, and whether to replay them first."""
    env = {"ASICDV_HYPOTHESIS_DB": str(out / "hypothesis" / spec.block / spec.test)}
    if spec.replay:
        env["ASICDV_HYPOTHESIS_REPLAY"] = "1"
    return env


def execute(spec_fields: dict, build: sim.Build, out: str, run_subdir: str) -> dict:
    """One simulation run -> a result record (JSON). Runs in a thread or on a Dask worker."""
    spec = RunSpec(**spec_fields)
    out_path = Path(out)
    run_dir = out_path / run_subdir
    if run_dir.exists():
        shutil.rmtree(run_dir)
    result = sim.run(
        build,
        spec.test,
        spec.seed,
        module=spec.module,
        run_dir=run_dir,
        timeout_s=spec.timeout_s,
        extra_env=hypothesis_env(out_path, spec),
    )
    coverage_file = run_dir / "coverage.json"
    coverage = None
    if coverage_file.exists():
        try:
            coverage = json.loads(coverage_file.read_text())
        except json.JSONDecodeError:
            coverage = None
    return {
        "status": "pass" if result.passed else "fail",
        "message": result.message,
        "log": os.path.relpath(result.log, out_path),
        "waves": os.path.relpath(result.waves, out_path) if result.waves and result.waves.exists() else None,
        "wall_s": round(result.wall_s, 3),
        "sim_time_ns": result.sim_time_ns,
        "functional_coverage": coverage,
        "host": os.uname().nodename,
    }


# ---------------------------------------------------------------- executors


class LocalExecutor:
    """Runs on this machine: threads, each waiting on one simulator process."""

    name = "local"

    def __init__(self, jobs: int):
        self.pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="asicdv-run")
        self.stopping: list = []

    def submit(self, fn, *args):
        return self.pool.submit(fn, *args)

    def stop(self, futures) -> None:
        self.stopping = list(futures)
        for future in self.stopping:
            future.cancel()
        sim.kill_live_simulations()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        # A thread that was between its start and its Popen when the stop came starts a simulator
        # after the kill: keep killing until every thread has returned.
        while not all(future.done() for future in self.stopping):
            sim.kill_live_simulations()
            time.sleep(0.05)
        self.pool.shutdown(wait=True)


class DaskExecutor:
    """Each run is a task on a Dask cluster (LocalCluster, or an existing scheduler); needs a shared FS."""

    name = "dask"

    def __init__(self, jobs: int, scheduler: str | None):
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="20s")
            else:
                self.cluster = LocalCluster(
                    n_workers=jobs,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=40,
                )
                self.client = Client(self.cluster)
        except OSError as exc:
            raise UserError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def stop(self, futures) -> None:
        self.client.cancel(list(futures))
        with contextlib.suppress(Exception):  # a worker already gone has nothing left to kill
            self.client.run(sim.kill_live_simulations)  # simulators running on the workers

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# ---------------------------------------------------------------- progress


class Progress:
    """A live line (rich) on a terminal; plain lines otherwise."""

    def __init__(self, total: int, label: str):
        self.total, self.done, self.passed, self.failed = total, 0, 0, 0
        self.start = time.monotonic()
        self.live = None
        if sys.stdout.isatty() and total:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self.live = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("[green]{task.fields[passed]} pass[/] [red]{task.fields[failed]} fail[/]"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            )
            self.task = self.live.add_task(label, total=total, passed=0, failed=0)
            self.live.start()

    def update(self, record: dict, spec: RunSpec) -> None:
        self.done += 1
        self.passed += record["status"] == "pass"
        self.failed += record["status"] != "pass"
        line = (
            f"[{self.done}/{self.total}] {record['status'].upper():4} {spec.config} {spec.test} "
            f"seed={spec.seed} {record['wall_s']:.1f}s"
        )
        if self.live:
            self.live.update(self.task, advance=1, passed=self.passed, failed=self.failed)
            if record["status"] != "pass":
                self.live.console.print(line + f"  {record['signature']}")
        else:
            elapsed = time.monotonic() - self.start
            eta = elapsed / self.done * (self.total - self.done)
            extra = f"  {record['signature']}" if record["status"] != "pass" else ""
            print(
                f"{line}  (pass {self.passed} fail {self.failed}, ETA {eta:.0f}s){extra}",
                flush=True,
            )

    def close(self) -> None:
        if self.live:
            self.live.stop()


# ---------------------------------------------------------------- the regression


@dataclass
class Options:
    jobs: int = 2
    out: Path | None = None
    resume: bool = False
    rerun_failed: bool = False
    filter: str | None = None
    executor: str = "local"
    scheduler: str | None = None
    seed: int | None = None
    max_waves: int = 1
    quiet: bool = False
    log: object = field(default=print)


class _Stop:
    """SIGINT/SIGTERM: set a flag the run loop polls (it then kills every simulator)."""

    def __init__(self):
        self.requested = threading.Event()
        self.signal = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signal = signum
        self.requested.set()
        sim.kill_live_simulations()  # at once; the loop repeats it for runs that start meanwhile

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _reproduce(spec: RunSpec, blocks: dict[str, Block], regression: str, seed: int) -> str:
    if spec.module:  # a test outside the block's module: no make rule names it, the regression does
        return shlex.join(["asicdv", "regress", regression, "--seed", str(seed), "--filter", spec.id])
    return sim.reproduce_command(
        blocks[spec.block],
        spec.test,
        spec.seed,
        spec.variant,
        spec.parameters,
        simulator=spec.simulator,
        coverage=spec.coverage,
    )


def _build_all(specs: list[RunSpec], blocks: dict[str, Block], jobs: int, log, stop: _Stop) -> dict[str, dict]:
    """Build every distinct configuration once, in parallel, from the cache when it can."""
    configs: dict[str, RunSpec] = {}
    for spec in specs:
        configs.setdefault(spec.config, spec)

    def one(spec: RunSpec) -> dict:
        if stop.requested.is_set():
            return {"error": "not built: the regression was stopped", "seconds": 0.0}
        kwargs = {"waves": spec.waves, "overrides": spec.parameters}
        if spec.coverage:
            kwargs["coverage"] = True
        if spec.simulator != "verilator":
            kwargs["simulator"] = spec.simulator
        start = time.monotonic()
        try:
            build = sim.build(blocks[spec.block], spec.variant, **kwargs)
        except (sim.BuildError, UserError) as exc:
            return {"error": str(exc), "seconds": round(time.monotonic() - start, 1)}
        return {
            "build": build,
            "seconds": round(build.seconds, 1),
            "cached": build.seconds == 0.0,
        }

    outcomes = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(one, spec): label for label, spec in configs.items()}
        for future in as_completed(futures):
            label = futures[future]
            outcome = outcomes[label] = future.result()
            if "error" in outcome:
                log(f"build {label}: FAILED ({outcome['error'].splitlines()[0]})")
            else:
                how = "cached" if outcome["cached"] else f"built in {outcome['seconds']:.1f} s"
                log(f"build {label}: {how}")
    return outcomes


class Regression:
    def __init__(self, name: str, options: Options):
        self.options = options
        self.log = (lambda *a, **k: None) if options.quiet else options.log
        self.project = projects.current()
        self.blocks = all_blocks(self.project)
        self.source = resolve(name)
        self.name = self.source.stem
        self.out = (Path(options.out) if options.out else self.project.results / "regress" / self.name).resolve()
        self.store = ResultStore(self.out)
        in_folder = self.source.parent == self.project.regressions
        relative = os.path.relpath(self.source)
        self.regression_arg = self.name if in_folder else str(self.source) if relative.startswith("..") else relative
        self.seed = None

    # -- planning

    def _fresh_plan(self) -> tuple[list[RunSpec], int]:
        data, entries = load(self.source)
        seed = self.options.seed if self.options.seed is not None else data.get("seed")
        if seed is None:
            seed = random.SystemRandom().randrange(1, SEED_LIMIT)
        specs = plan(entries, seed, self.blocks)
        if self.options.filter:
            specs = [s for s in specs if matches(s, self.options.filter)]
            if not specs:
                raise UserError(f"--filter {self.options.filter!r} selects no run of regression {self.name}")
        return specs, seed

    def _saved_plan(self) -> tuple[list[RunSpec], int]:
        plan_path = self.out / "plan.json"
        if not plan_path.exists():
            raise UserError(f"{self.out}: no plan.json, nothing to resume (run without --resume/--rerun-failed)")
        saved = json.loads(plan_path.read_text())
        if saved["regression"] != self.name:
            raise UserError(
                f"{self.out} holds regression {saved['regression']!r}, not {self.name!r}: nothing to resume"
            )
        return [RunSpec(**fields) for fields in saved["runs"]], saved["seed"]

    def prepare(self) -> tuple[list[RunSpec], list[RunSpec], int]:
        """(every planned run, the runs to do now, master seed); validation errors raise before any change."""
        if self.options.resume or self.options.rerun_failed:
            specs, seed = self._saved_plan()
            records = self.store.load()
            if self.options.resume:
                todo = [s for s in specs if s.id not in records]
            else:
                todo = [s for s in specs if records.get(s.id, {}).get("status") == "fail"]
            if self.options.filter:
                todo = [s for s in todo if matches(s, self.options.filter)]
            return specs, todo, seed
        specs, seed = self._fresh_plan()
        return specs, list(specs), seed

    def _start_session(self, specs: list[RunSpec], seed: int) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        summary = self.out / "summary.json"
        if (self.options.rerun_failed or not self.options.resume) and summary.exists():
            summary.replace(self.out / "previous-summary.json")  # the report compares with it
        if not (self.options.resume or self.options.rerun_failed):
            for stale in (
                "results.jsonl",
                "sessions.jsonl",
                "builds.json",
                "junit.xml",
                "report.html",
            ):
                (self.out / stale).unlink(missing_ok=True)
            shutil.rmtree(self.out / "runs", ignore_errors=True)  # hypothesis/ stays: replay uses it
            (self.out / "plan.json").write_text(
                json.dumps(
                    {
                        "regression": self.name,
                        "invocation": self.regression_arg,  # how to name it to asicdv regress
                        "file": str(self.source),
                        "seed": seed,
                        "created": _now(),
                        "runs": [asdict(s) for s in specs],
                    },
                    indent=1,
                )
            )

    # -- running

    def run(self) -> int:
        specs, todo, seed = self.prepare()
        self.seed = seed
        self._start_session(specs, seed)
        mode = "resume" if self.options.resume else "rerun-failed" if self.options.rerun_failed else "fresh"
        self.log(
            f"regression {self.name}: {len(specs)} runs planned, {len(todo)} to run ({mode}), seed {seed}, "
            f"executor {self.options.executor}, -j {self.options.jobs}, results in {self.out}"
        )
        start = time.monotonic()
        interrupted = False
        with _Stop() as stop:
            builds = _build_all(todo, self.blocks, self.options.jobs, self.log, stop)
            self._save_builds(builds)
            executor = None
            if todo and not stop.requested.is_set():
                executor = (
                    DaskExecutor(self.options.jobs, self.options.scheduler)
                    if self.options.executor == "dask"
                    else LocalExecutor(self.options.jobs)
                )
            try:
                if executor:
                    self._run_all(todo, builds, executor, stop, attempt_of=self.store.load())
                    if not stop.requested.is_set():
                        self._waves_reruns(executor, stop)
            finally:
                if executor:
                    executor.close()
            interrupted = stop.requested.is_set()
        wall = time.monotonic() - start
        with open(self.out / "sessions.jsonl", "a") as stream:
            stream.write(
                json.dumps(
                    {
                        "mode": mode,
                        "started": _now(),
                        "wall_s": round(wall, 2),
                        "executor": self.options.executor,
                        "jobs": self.options.jobs,
                        "interrupted": interrupted,
                    }
                )
                + "\n"
            )
        from asicdv.tools import report

        summary = summarize(self.out, self.blocks)
        report.write_all(self.out, summary)
        done, planned = summary["counts"]["done"], summary["counts"]["planned"]
        self.log(
            f"regression {self.name}: {summary['counts']['passed']} passed, {summary['counts']['failed']} failed, "
            f"{planned - done} without result, {len(summary['buckets'])} failure bucket(s); {wall:.1f} s wall"
        )
        for bucket in summary["buckets"]:
            first = bucket["runs"][0]
            self.log(f"  [{bucket['count']}x] {bucket['signature']}\n      reproduce: {first['reproduce']}")
        self.log(f"report: {self.out / 'report.html'}")
        if interrupted:
            self.log(
                f"interrupted by signal {stop.signal}: {done} of {planned} runs have a result; "
                f"`asicdv regress {self.regression_arg} --out {self.out} --resume` runs the rest"
            )
            return 130
        return 0 if summary["counts"]["failed"] == 0 and done == planned else 1

    def _save_builds(self, builds: dict[str, dict]) -> None:
        path = self.out / "builds.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        for label, outcome in builds.items():
            saved[label] = {
                "seconds": outcome["seconds"],
                "cached": outcome.get("cached", False),
                "directory": str(outcome["build"].directory) if "build" in outcome else None,
                "error": outcome.get("error"),
            }
        path.write_text(json.dumps(saved, indent=1))

    def _record(self, spec: RunSpec, fields: dict, attempt: int) -> dict:
        record = {
            "id": spec.id,
            "key": spec.key,
            "block": spec.block,
            "variant": spec.variant,
            "parameters": spec.parameters,
            "test": spec.test,
            "seed": spec.seed,
            "config": spec.config,
            "reproduce": _reproduce(spec, self.blocks, self.regression_arg, self.seed),
            "attempt": attempt,
            "finished": _now(),
            "waves_rerun": None,
            "flaky": False,
            **fields,
        }
        record["signature"] = signature(record["message"]) if record["status"] == "fail" else None
        return record

    def _run_all(self, todo, builds, executor, stop: _Stop, attempt_of: dict[str, dict]) -> None:
        progress = Progress(len(todo), f"{self.name}")
        pending = {}
        try:
            for spec in todo:
                attempt = attempt_of.get(spec.id, {}).get("attempt", 0) + 1
                outcome = builds[spec.config]
                if "error" in outcome:
                    build_log = re.search(r"log: (\S+)", outcome["error"])
                    fields = {
                        "status": "fail",
                        "message": f"build failed: {outcome['error']}",
                        "log": build_log.group(1) if build_log else None,
                        "waves": None,
                        "wall_s": 0.0,
                        "sim_time_ns": None,
                        "build_failed": True,
                    }
                    record = self._record(spec, fields, attempt)
                    self.store.append(record)
                    progress.update(record, spec)
                    continue
                future = executor.submit(
                    execute,
                    asdict(spec),
                    outcome["build"],
                    str(self.out),
                    f"runs/{spec.id}",
                )
                pending[future] = (spec, attempt)
            while pending:
                if stop.requested.is_set():
                    executor.stop(pending)
                    return  # what is still running is not recorded: --resume runs it
                finished = [f for f in pending if f.done()]
                if not finished:
                    time.sleep(0.1)
                    continue
                for future in finished:
                    spec, attempt = pending.pop(future)
                    if stop.requested.is_set():
                        return
                    try:
                        fields = future.result()
                    except Exception as exc:  # noqa: BLE001 - a lost worker is one failed run, not a lost regression
                        fields = {
                            "status": "fail",
                            "message": f"run raised {type(exc).__name__}: {exc}",
                            "log": None,
                            "waves": None,
                            "wall_s": 0.0,
                            "sim_time_ns": None,
                        }
                    record = self._record(spec, fields, attempt)
                    self.store.append(record)
                    progress.update(record, spec)
        finally:
            progress.close()

    def _waves_reruns(self, executor, stop: _Stop) -> None:
        """Rerun failures with waves on, at most max_waves per bucket (fewer builds, as dvsim's max-waves)."""
        records = self.store.load()
        specs = {s.id: s for s in self._saved_plan()[0]}
        per_bucket: dict[str, int] = {}
        chosen = []
        for record in records.values():
            if record["status"] != "fail" or record.get("build_failed"):
                continue
            bucket = record["signature"]
            if record.get("waves_rerun"):
                per_bucket[bucket] = per_bucket.get(bucket, 0) + 1
        for record in records.values():
            if record["status"] != "fail" or record.get("build_failed") or record.get("waves_rerun"):
                continue
            if record.get("waves") or record["id"] not in specs:
                continue  # already traced
            if per_bucket.get(record["signature"], 0) < self.options.max_waves:
                per_bucket[record["signature"]] = per_bucket.get(record["signature"], 0) + 1
                chosen.append((record, specs[record["id"]].with_waves()))
        if not chosen:
            return
        self.log(f"rerunning {len(chosen)} failure(s) with waves (max {self.options.max_waves} per bucket)")
        builds = _build_all([spec for _, spec in chosen], self.blocks, self.options.jobs, self.log, stop)
        self._save_builds(builds)
        pending = {}
        for record, spec in chosen:
            outcome = builds[spec.config]
            if "error" in outcome:
                continue
            future = executor.submit(
                execute,
                asdict(spec),
                outcome["build"],
                str(self.out),
                f"runs/{spec.id}/waves",
            )
            pending[future] = record
        while pending:
            if stop.requested.is_set():
                executor.stop(pending)
                return
            for future in [f for f in pending if f.done()]:
                record = pending.pop(future)
                try:
                    fields = future.result()
                except Exception as exc:  # noqa: BLE001
                    fields = {
                        "status": "fail",
                        "message": f"waves rerun raised {exc}",
                        "log": None,
                        "waves": None,
                    }
                record = {
                    **record,
                    "waves": fields["waves"],
                    "waves_rerun": {
                        "status": fields["status"],
                        "log": fields["log"],
                        "signature": signature(fields["message"]) if fields["status"] == "fail" else None,
                    },
                    "flaky": fields["status"] == "pass",  # same seed, different outcome
                }
                self.store.append(record)
            time.sleep(0.1)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- summary


def merge_functional_coverage(records: list[dict]) -> dict | None:
    """Sum every run's coverage.json per block/coverpoint: hits per bin, % of bins hit, holes."""
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
        hit = sum(1 for hits in bins.values() if hits > 0)
        points[point] = {
            "bins": len(bins),
            "hit": hit,
            "percent": round(100.0 * hit / len(bins), 2) if bins else 100.0,
            "holes": sorted(name for name, hits in bins.items() if hits == 0),
            "hits": bins,
        }
    total_bins = sum(p["bins"] for p in points.values())
    total_hit = sum(p["hit"] for p in points.values())
    return {
        "percent": round(100.0 * total_hit / total_bins, 2) if total_bins else 100.0,
        "coverpoints": points,
    }


def _code_coverage(out: Path, specs: list[RunSpec]) -> dict | None:
    if not any(s.coverage for s in specs) or importlib.util.find_spec("asicdv.tools.code_coverage") is None:
        return None
    from asicdv.tools import code_coverage as codecov

    dat_files = [p for s in specs if s.coverage for p in sorted((out / "runs" / s.id).glob("*.dat"))]
    if not dat_files:
        return None
    return {"summary": codecov.merge(dat_files, out / "codecov"), "html": "codecov/html/index.html"}


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
                    {k: m.get(k) for k in ("id", "seed", "reproduce", "log", "waves", "flaky")} for m in members[:first]
                ],
            }
        )
    return result


def summarize(out: Path, blocks: dict[str, Block] | None = None) -> dict:
    """summary.json from plan.json, results.jsonl, builds.json, sessions.jsonl and previous-summary.json."""
    saved = json.loads((out / "plan.json").read_text())
    specs = [RunSpec(**fields) for fields in saved["runs"]]
    records = ResultStore(out).load()
    runs = [records[s.id] for s in specs if s.id in records]
    missing = [s.id for s in specs if s.id not in records]
    sessions = []
    if (out / "sessions.jsonl").exists():
        sessions = [json.loads(line) for line in (out / "sessions.jsonl").read_text().splitlines() if line.strip()]
    previous_path = out / "previous-summary.json"
    previous = json.loads(previous_path.read_text()) if previous_path.exists() else None
    passed = sum(r["status"] == "pass" for r in runs)
    summary = {
        "regression": saved["regression"],
        "invocation": saved.get("invocation", saved["regression"]),
        "file": saved["file"],
        "seed": saved["seed"],
        "created": saved["created"],
        "written": _now(),
        "wall_s": round(sum(s["wall_s"] for s in sessions), 2),
        "sessions": sessions,
        "counts": {
            "planned": len(specs),
            "done": len(runs),
            "passed": passed,
            "failed": len(runs) - passed,
            "missing": len(missing),
            "flaky": sum(bool(r.get("flaky")) for r in runs),
        },
        "pass_rate": round(100.0 * passed / len(runs), 2) if runs else 0.0,
        "runs": runs,
        "missing": missing,
        "buckets": buckets(runs),
        "builds": json.loads((out / "builds.json").read_text()) if (out / "builds.json").exists() else {},
        "functional_coverage": merge_functional_coverage(runs),
        "code_coverage": _code_coverage(out, specs),
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
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


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
    if args.max_waves < 0:
        raise UserError(f"--max-waves {args.max_waves}: must be 0 or more")
    options = Options(
        jobs=args.jobs,
        out=args.out,
        resume=args.resume,
        rerun_failed=args.rerun_failed,
        filter=args.filter,
        executor=args.executor,
        scheduler=args.scheduler,
        seed=args.seed,
        max_waves=args.max_waves,
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
    parser.set_defaults(handler=command)
