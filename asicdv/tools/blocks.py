"""Block descriptions: one `block.yaml` per block (the project's `blocks` glob, default
`tb/*/block.yaml`). Paths in a block file are relative to the project root.

A block file names the RTL, the top module, the cocotb test module, the
parameter sets ("variants") and the tests with their reseed counts, e.g.

    name: sha256
    top: sha256_core
    sources: [rtl/sha256/*.v]
    exclude: []               # source files matched above that the block does not use (vendored extras)
    uses: []                  # other blocks whose RTL this one instantiates (their sources come too)
    test_module: tb.sha256.sha256_tests
    service: tb.sha256.service   # default: `service` beside the test module (asicdv.tools.service_client)
    clock: clk                # default clk
    reset: {name: rst, active: high, cycles: 3}   # the default; e.g. {name: reset_n, active: low}
    streams:                  # streams the naming conventions do not find (Bfm.add_source("in"), ...)
      in: {valid: valid_i, ready: ready_o, data: [a_i, b_i]}   # fields: a, b
      out: {valid: valid_o, ready: null, data: [y_o]}          # ready: null = valid-only
    build_args: []            # extra Verilator arguments (also used by `asicdv lint`)
    lint_waivers: []          # Verilator .vlt waiver files for `asicdv lint` (vendored code)
    timeout_s: 600            # wall-clock limit of one simulation run
    whitebox: false           # true: every internal signal visible to cocotb (slower build); false: the top's ports
    variants: {default: {}}   # name -> Verilog parameters
    parameters: {}            # parameter -> its legal values, e.g. {FIFO_DEPTH: [1, 2, 3, 5, 8, 16]}:
                              # variants must use legal values; `asicdv formal` sweeps them
    streams: {}               # name -> {valid:, ready: (or null), data: [...], direction: in|out}
                              # (checked and used by asicdv.formal: interface properties)
    tests:
      - {name: FipsExamplesTest, reseeds: 1}

A new block needs a new file and nothing in the framework.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field, replace
from pathlib import Path

from asicdv import UserError
from asicdv import project as projects
from asicdv.project import Project
from asicdv.testbench.reset_spec import ResetSpec
from asicdv.tools import inputfile

KEYS = {
    "name",
    "top",
    "sources",
    "exclude",
    "uses",
    "test_module",
    "service",
    "clock",
    "reset",
    "streams",
    "build_args",
    "lint_waivers",
    "timeout_s",
    "whitebox",
    "variants",
    "tests",
    "parameters",
}


@dataclass(frozen=True)
class TestSpec:
    name: str
    reseeds: int = 1
    smoke: bool = True  # part of the smoke regression (and of `make test`)


@dataclass(frozen=True)
class Block:
    name: str
    top: str
    sources: tuple[Path, ...]
    test_module: str
    variants: dict[str, dict[str, int]]
    tests: tuple[TestSpec, ...]
    timeout_s: float = 600.0
    build_args: tuple[str, ...] = ()
    whitebox: bool = False  # make every internal signal visible to cocotb (slower builds)
    uses: tuple[str, ...] = ()  # blocks whose RTL this one instantiates
    clock: str = "clk"
    reset: ResetSpec = ResetSpec()
    lint_waivers: tuple[Path, ...] = ()
    excluded: tuple[Path, ...] = ()  # files the source patterns match that the block leaves out on purpose
    service_module: str = ""  # the module whose Service test answers requests (the CLI, the bench)
    parameters: dict[str, tuple[int, ...]] = field(default_factory=dict)  # legal values per parameter
    # name -> {valid, ready, data[, direction]}: the Bfm binds them, asicdv.tools.formal checks them
    streams: dict[str, dict] = field(default_factory=dict)
    path: Path = field(default=Path("."))
    project: Project | None = field(default=None, compare=False, repr=False)

    def test(self, name: str) -> TestSpec:
        for spec in self.tests:
            if spec.name == name:
                return spec
        known = ", ".join(t.name for t in self.tests)
        raise UserError(f"unknown test {name!r} for block {self.name}; known tests: {known}")

    def variant(self, name: str) -> dict[str, int]:
        if name not in self.variants:
            raise UserError(
                f"unknown variant {name!r} for block {self.name}; known variants: {', '.join(self.variants)}"
            )
        return self.variants[name]


_IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
_MODULE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
_PATHS = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 1000}, "maxItems": 1000}
MAX_TIMEOUT_S = 7 * 24 * 3600

# JSON schema of a block file: checked (types, names, finite positive timeout, reseeds) before anything runs.
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "top", "sources", "test_module", "tests"],
    "properties": {
        "name": {"type": "string", "pattern": _NAME, "maxLength": 100},
        "top": {"type": "string", "pattern": _IDENT, "maxLength": 200},
        "sources": {**_PATHS, "minItems": 1},
        "exclude": _PATHS,
        "uses": {"type": "array", "items": {"type": "string", "pattern": _NAME}, "maxItems": 100},
        "test_module": {"type": "string", "pattern": _MODULE, "maxLength": 200},
        "service": {"type": "string", "pattern": _MODULE, "maxLength": 200},
        "clock": {"type": "string", "pattern": _IDENT, "maxLength": 200},
        "reset": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": _IDENT, "maxLength": 200},
                "active": {"enum": ["high", "low"]},
                "cycles": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            },
        },
        "build_args": {"type": "array", "items": {"type": "string", "maxLength": 10_000}, "maxItems": 1000},
        "lint_waivers": _PATHS,
        "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT_S},
        "whitebox": {"type": "boolean"},
        "variants": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1000,
            "propertyNames": {"pattern": _NAME, "maxLength": 100},
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"pattern": _IDENT, "maxLength": 100},
                "additionalProperties": {"type": "integer", "minimum": -(2**63), "maximum": 2**64 - 1},
            },
        },
        "parameters": {  # legal values of each Verilog parameter (formal and simulation sweep them)
            "type": "object",
            "propertyNames": {"pattern": _IDENT, "maxLength": 100},
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                "items": {"type": "integer", "minimum": -(2**63), "maximum": 2**64 - 1},
            },
        },
        "streams": {"type": "object", "maxProperties": 1000},  # each checked by _streams
        "tests": {
            "type": "array",
            "maxItems": 10_000,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": _IDENT, "maxLength": 200},
                    "reseeds": {"type": "integer", "minimum": 1},  # at most the project's [limits] max_reseeds
                    "smoke": {"type": "boolean"},
                },
            },
        },
    },
}


def _describe(error) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        unexpected = sorted(set(error.instance) - set(error.schema.get("properties", {})), key=str)
        what = "unknown key(s)" if not where else f"{where}: unknown keys"
        return f"{what} {', '.join(map(str, unexpected))}; known: {allowed}"
    if error.validator == "required":
        return f"{where + ': ' if where else ''}missing key {error.message.split(' is a required')[0]}"
    if error.validator == "pattern":
        return f"{where}: {error.instance!r} is not a valid name (letters, digits and _)"
    return f"{where + ': ' if where else ''}{error.message}"


def validate(data, path: Path, project: Project) -> dict:
    """The block file's data, checked against SCHEMA and the project's reseed limit (one UserError line)."""
    if not isinstance(data, dict):
        raise UserError(f"{path}: a block file is a YAML mapping")
    errors = inputfile.schema_errors(SCHEMA, data)
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise UserError(f"{path}: {_describe(errors[0])}{more}")
    for test in data["tests"]:
        if test.get("reseeds", 1) > project.max_reseeds:
            raise UserError(
                f"{path}: test {test['name']}: reseeds {test['reseeds']} is above the limit of "
                f"{project.max_reseeds} ([limits] max_reseeds in {project.config})"
            )
    names = [t["name"] for t in data["tests"]]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise UserError(f"{path}: test {duplicate} is listed twice")
    return data


def load_block(path: Path, project: Project | None = None) -> Block:
    project = project or projects.current()
    root = project.root
    data = validate(inputfile.load_yaml(path, "block file"), path, project)
    excluded = {Path(m) for pattern in data.get("exclude", []) for m in glob.glob(str(root / pattern))}
    sources: list[Path] = []
    for pattern in data["sources"]:
        matches = sorted(glob.glob(str(root / pattern)))
        if not matches:
            raise UserError(f"{path}: source pattern {pattern!r} matches no file under the project root {root}")
        sources.extend(Path(m) for m in matches if Path(m) not in excluded)
    tests = [TestSpec(t["name"], t.get("reseeds", 1), t.get("smoke", True)) for t in data["tests"]]
    reset = data.get("reset", {})
    legal = data.get("parameters") or {}
    variants = data.get("variants") or {"default": {}}
    for vname, vparams in variants.items():
        for pname, value in vparams.items():
            if pname in legal and value not in legal[pname]:
                raise UserError(f"{path}: variant {vname}: {pname}={value} is not a legal value ({legal[pname]})")
    waivers = [root / w for w in data.get("lint_waivers", [])]
    for waiver in waivers:
        if not waiver.is_file():
            raise UserError(f"{path}: lint waiver file {waiver} does not exist")
    test_module = data["test_module"]
    streams = _streams(data.get("streams", {}), path)
    return Block(
        name=data["name"],
        top=data["top"],
        sources=tuple(sources),
        test_module=test_module,
        service_module=str(data.get("service") or test_module.rpartition(".")[0] + ".service").lstrip("."),
        variants={k: dict(v) for k, v in variants.items()},
        tests=tuple(tests),
        timeout_s=float(data.get("timeout_s", 600)),
        build_args=tuple(data.get("build_args", ())),
        whitebox=data.get("whitebox", False),
        uses=tuple(data.get("uses", ())),
        clock=data.get("clock", "clk"),
        reset=ResetSpec(reset.get("name", "rst"), reset.get("active", "high") == "high", reset.get("cycles", 3)),
        lint_waivers=tuple(waivers),
        streams=streams,
        excluded=tuple(sorted(excluded)),
        parameters={str(k): tuple(v) for k, v in legal.items()},
        path=path,
        project=project,
    )


def _streams(value, path: Path) -> dict[str, dict]:
    """block.yaml's `streams`: name -> {valid: signal, ready: signal or null, data: [signals] or
    {field: signal}, optionally direction: in|out (formal asserts outputs, assumes inputs)}."""
    if not isinstance(value, dict):
        raise UserError(f"{path}: 'streams' maps a stream name to {{valid, ready, data}}, got {value!r}")
    streams = {}
    for name, spec in value.items():
        where = f"{path}: stream {name}"
        if not isinstance(spec, dict) or set(spec) - {"valid", "ready", "data", "direction"} or "valid" not in spec:
            raise UserError(
                f"{where}: give {{valid: SIGNAL, ready: SIGNAL or null, data: [SIGNAL, ...]}}, got {spec!r}"
            )
        if "ready" not in spec:
            raise UserError(f"{where}: 'ready' is missing (a signal name, or null for a valid-only stream)")
        data = spec.get("data", [])
        names = list(data.values()) if isinstance(data, dict) else data if isinstance(data, list) else [None]
        signals = [spec["valid"], *([spec["ready"]] if spec["ready"] is not None else []), *names]
        if not all(isinstance(s, str) and s for s in signals):
            raise UserError(f"{where}: valid, ready and data name signals (strings), got {spec!r}")
        if spec.get("direction", "in") not in ("in", "out"):
            raise UserError(f"{where}: direction is in (into the DUT) or out, got {spec['direction']!r}")
        streams[str(name)] = {"valid": spec["valid"], "ready": spec["ready"], "data": data}
        if "direction" in spec:
            streams[str(name)]["direction"] = spec["direction"]
    return streams


def all_blocks(project: Project | None = None) -> dict[str, Block]:
    """Every block of the project, by name (with the sources of the blocks each uses)."""
    project = project or projects.current()
    blocks = {}
    for path in sorted(project.root.glob(project.block_glob)):
        block = load_block(path, project)
        if block.name in blocks:
            raise UserError(f"{path}: block name {block.name!r} is also used by {blocks[block.name].path}")
        blocks[block.name] = block
    return {name: _with_used_sources(block, blocks) for name, block in blocks.items()}


def _with_used_sources(block: Block, blocks: dict[str, Block], seen: tuple[str, ...] = ()) -> Block:
    """Add the sources of every block named in `uses` (transitively) after the block's own."""
    sources = list(block.sources)
    for name in block.uses:
        if name not in blocks:
            raise UserError(f"{block.path}: uses unknown block {name!r}; known blocks: {', '.join(blocks)}")
        if name in seen or name == block.name:
            raise UserError(f"{block.path}: 'uses' forms a cycle through {name!r}")
        used = _with_used_sources(blocks[name], blocks, (*seen, block.name))
        sources += [s for s in used.sources if s not in sources]
    return replace(block, sources=tuple(sources))


def get_block(name: str, project: Project | None = None) -> Block:
    project = project or projects.current()
    blocks = all_blocks(project)
    if name not in blocks:
        raise UserError(
            f"unknown block {name!r}; known blocks: {', '.join(blocks) or 'none'} "
            f"(block files {project.block_glob} under {project.root})"
        )
    return blocks[name]
