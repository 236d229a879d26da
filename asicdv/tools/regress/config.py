"""Regression files: the schema, loading and validation, and the plan (every run, with its seed)."""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import inspect
import itertools
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import jsonschema

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools import inputfile
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import Block, all_blocks
from asicdv.tools.regress import formal_entries

SEED_LIMIT = 2**31 - 1
MAX_TIMEOUT_S = 7 * 24 * 3600  # a run's wall-clock limit: finite, positive, at most a week
MAX_INCLUDES = 200  # regression files one regression may read, includes included
MAX_ENTRIES = 10_000
NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"  # tests and Verilog parameters: identifiers
BLOCK_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
NOT_REGRESSIONS = {"gates", "gates-nightly", "dask-jobqueue"}  # other YAML files kept in regressions/

ENTRY_PROPERTIES = {
    "block": {"type": "string", "pattern": BLOCK_NAME, "maxLength": 100},
    "tests": {
        "oneOf": [
            {"enum": ["all", "smoke"]},
            {"type": "array", "items": {"type": "string", "pattern": NAME, "maxLength": 200}, "minItems": 1},
        ]
    },
    "variants": {
        "oneOf": [
            {"const": "all"},
            {"type": "array", "items": {"type": "string", "pattern": BLOCK_NAME, "maxLength": 100}, "minItems": 1},
        ]
    },
    "parameters": {
        "type": "object",
        "propertyNames": {"pattern": NAME, "maxLength": 100},
        "additionalProperties": {"type": "integer", "minimum": -(2**63), "maximum": 2**64 - 1},
    },
    # Every legal value (block.yaml `parameters:`) of these parameters, one set of runs per combination.
    "sweep": {
        "type": "array",
        "items": {"type": "string", "pattern": NAME, "maxLength": 100},
        "minItems": 1,
        "uniqueItems": True,
    },
    "seeds": {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": SEED_LIMIT},
        "minItems": 1,
        "uniqueItems": True,
    },
    "reseeds": {"type": "integer", "minimum": 1},  # at most the project's [limits] max_reseeds (plan)
    "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT_S},
    "waves": {"type": "boolean"},
    "coverage": {"type": "boolean"},
    "replay": {"type": "boolean"},
    "simulator": {"enum": ["verilator", "icarus"]},
    "module": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", "maxLength": 200},
    # A formal entry (formal: true) runs the block's formal tasks instead of tests (formal_entries).
    "formal": {"type": "boolean"},
    "tasks": {"type": "array", "items": {"type": "string", "pattern": NAME, "maxLength": 200}, "minItems": 1},
    "depth": {"type": "integer", "minimum": 1, "maximum": 10_000},
}
DEFAULT_PROPERTIES = {
    k: v
    for k, v in ENTRY_PROPERTIES.items()
    if k not in ("block", "tests", "seeds", "module", "formal", "tasks", "depth", "sweep")
}

# JSON schema of a regression file (checked with jsonschema before anything runs).
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "asicdv regression file",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "seed": {"type": "integer", "minimum": 0, "maximum": SEED_LIMIT},
        "include": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 1000}, "maxItems": 100},
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": DEFAULT_PROPERTIES,
        },
        "entries": {
            "type": "array",
            "maxItems": MAX_ENTRIES,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["block"],
                "properties": ENTRY_PROPERTIES,
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
    data = inputfile.load_yaml(path, "regression file")
    if not isinstance(data, dict):
        raise UserError(f"{path}: a regression file is a YAML mapping with 'entries' (and/or 'include')")
    errors = inputfile.schema_errors(SCHEMA, data)
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise UserError(f"{path}: {_describe(errors[0])}{more}")
    return data


def load(
    path: Path, _seen: tuple[Path, ...] = (), _reads: list[int] | None = None
) -> tuple[dict, list[tuple[Path, int, dict]]]:
    """The file's top-level data and every entry (includes first), each with its file and 1-based index."""
    path = path.resolve()
    if path in _seen:
        raise UserError(f"{_seen[-1]}: include cycle through {path}")
    reads = _reads if _reads is not None else [0]
    reads[0] += 1
    if reads[0] > MAX_INCLUDES:
        raise UserError(f"{_seen[0]}: reads more than {MAX_INCLUDES} regression files through 'include'")
    data = _read(path)
    entries: list[tuple[Path, int, dict]] = []
    for name in data.get("include", []):
        try:
            included = (path.parent / name).resolve()
            exists = included.is_file()
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: include {name!r}: not a usable path ({exc})") from None
        if not exists:
            raise UserError(f"{path}: include {name!r}: no such file {included}")
        entries += load(included, (*_seen, path), reads)[1]
        if len(entries) > MAX_ENTRIES:
            raise UserError(f"{path}: more than {MAX_ENTRIES} entries once includes are read")
    defaults = data.get("defaults", {})
    for index, entry in enumerate(data.get("entries", []), 1):
        if formal_entries.is_formal(entry):  # the simulation defaults (reseeds, waves...) are not theirs
            applied = {k: v for k, v in defaults.items() if k in formal_entries.FORMAL_DEFAULTS}
        else:
            applied = defaults
        entries.append((path, index, {**applied, **entry}))
    return data, entries


def build_accepts(option: str) -> bool:
    return option in inspect.signature(sim.build).parameters


def check_entry(path: Path, index: int, entry: dict, blocks: dict[str, Block]) -> None:
    """The checks a schema cannot make: names against the blocks' own files."""
    where = f"{path}: entry {index}"
    formal_entries.check_entry(where, entry)
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
    formal_entries.check_parameters(where, block, entry.get("parameters", {}))  # known names, legal values
    for name in entry.get("sweep", ()):
        if name not in block.parameters:
            declared = ", ".join(block.parameters) or "none"
            raise UserError(
                f"{where}: sweep {name!r}: {block.name} declares no legal values for it "
                f"(block.yaml parameters: in {block.path}; declared: {declared})"
            )
        if name in entry.get("parameters", {}):
            raise UserError(f"{where}: {name!r} is both fixed (parameters) and swept (sweep)")
    simulator = entry.get("simulator", "verilator")
    if simulator != "verilator" and not build_accepts("simulator"):
        raise UserError(
            f"{where}: simulator {simulator!r} is not supported by this checkout's asicdv.tools.simulator.build"
        )
    if simulator == "icarus" and (entry.get("coverage") or entry.get("waves")):
        raise UserError(f"{where}: simulator icarus takes no coverage or waves builds (Verilator only)")
    if entry.get("coverage") and not build_accepts("coverage"):
        raise UserError(
            f"{where}: coverage: true needs code-coverage builds, which this checkout's asicdv.tools.simulator lacks"
        )


_DEFINED = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*=", re.MULTILINE)


def module_tests(module: str, where: str) -> set[str]:
    """The names a test module defines at its top level (tests are among them), read without importing it."""
    # The simulator imports it with the project root on PYTHONPATH: look there first (tests/ is no package).
    path = projects.current().root.joinpath(*module.split(".")).with_suffix(".py")
    if not path.exists():
        try:
            spec = importlib.util.find_spec(module) if importlib.util.find_spec(module.split(".")[0]) else None
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            raise UserError(f"{where}: test module {module!r} not found")
        path = Path(spec.origin)
    source = inputfile.read_text(path, "test module", max_bytes=16 << 20)
    return {a or b for a, b in _DEFINED.findall(source)}


def _check_module_tests(where: str, module: str, tests: list[str]) -> None:
    defined = module_tests(module, where)
    for name in tests:
        if name not in defined:
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
    """Every run of the regression, in file order, duplicates dropped; refused when it would plan more runs
    than the project's [limits] max_runs, or none at all."""
    blocks = blocks or all_blocks()
    project = projects.current()
    formal_runs = formal_entries.plan(entries, blocks)  # checks the formal entries; they run no simulation
    runs: dict[str, RunSpec] = {}
    expanded = []
    for path, index, entry in entries:
        if formal_entries.is_formal(entry):
            continue  # planned by formal_entries.plan
        if entry["block"] != "all":
            expanded.append((path, index, entry))
            continue
        # `block: all` is every block of tb/*/block.yaml, so a new block needs no regression edit.
        specific = [key for key in ("variants", "parameters", "sweep", "module", "seeds") if key in entry]
        if isinstance(entry.get("tests"), list):
            specific.insert(0, "a list of tests")
        if specific:
            raise UserError(f"{path}: entry {index}: block: all takes no {', '.join(specific)} (name one block)")
        expanded += [(path, index, {**entry, "block": name}) for name in blocks]
    counts = [_entry_runs(path, index, entry, blocks, project) for path, index, entry in expanded]
    if sum(counts) > project.max_runs:
        raise UserError(
            f"{entries[0][0]}: the entries ask for {sum(counts)} runs; the limit is {project.max_runs} "
            f"([limits] max_runs in {project.config})"
        )
    checked_modules: set[str] = set()
    for _path, _index, entry in expanded:
        block = blocks[entry["block"]]
        if "module" not in entry and block.test_module not in checked_modules:
            defined = module_tests(block.test_module, f"{block.path}")
            missing = [t.name for t in block.tests if t.name not in defined]
            if missing:
                raise UserError(
                    f"{block.path}: test {missing[0]!r} is not defined in the test module {block.test_module}"
                )
            checked_modules.add(block.test_module)
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
        for variant, chosen in (
            (variant, chosen)
            for variant in (list(block.variants) if variants == "all" else variants)
            for chosen in parameter_sets(block, entry)
        ):
            defaults = block.variant(variant)
            overrides = {k: v for k, v in sorted(chosen.items()) if defaults.get(k) != v}
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
    if not runs and not formal_runs:
        raise UserError(f"{entries[0][0] if entries else 'regression'}: the regression plans no runs")
    return list(runs.values())


def _entry_runs(path: Path, index: int, entry: dict, blocks: dict[str, Block], project) -> int:
    """How many runs the entry asks for (before duplicates are dropped), after checking its names and
    its reseed count against the project's limit."""
    check_entry(path, index, entry, blocks)
    block = blocks[entry["block"]]
    tests = entry.get("tests", "all")
    if tests == "all":
        counts = [t.reseeds for t in block.tests]
    elif tests == "smoke":
        counts = [t.reseeds for t in block.tests if t.smoke]
    elif "module" in entry:
        counts = [1] * len(tests)
    else:
        counts = [block.test(name).reseeds for name in tests]
    if "seeds" in entry:
        counts = [len(entry["seeds"])] * len(counts)
    elif "reseeds" in entry:
        counts = [entry["reseeds"]] * len(counts)
    per_test = max(counts, default=0)
    if per_test > project.max_reseeds:
        raise UserError(
            f"{path}: entry {index}: {per_test} seeds per test is above the limit of {project.max_reseeds} "
            f"([limits] max_reseeds in {project.config})"
        )
    variants = entry.get("variants", "all")
    return (
        sum(counts) * (len(block.variants) if variants == "all" else len(variants)) * len(parameter_sets(block, entry))
    )


def parameter_sets(block: Block, entry: dict) -> list[dict]:
    """The entry's fixed `parameters` with each combination of its swept parameters' legal values."""
    swept = entry.get("sweep", ())
    fixed = dict(entry.get("parameters", {}))
    return [
        {**fixed, **dict(zip(swept, values, strict=True))}
        for values in itertools.product(*(block.parameters[n] for n in swept))
    ]


def matches(spec: RunSpec, pattern: str) -> bool:
    """--filter: a glob on the test name, on block/variant/test, or on the run id."""
    return any(fnmatch.fnmatchcase(text, pattern) for text in (spec.test, spec.key, spec.id))
