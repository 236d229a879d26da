"""`asicdv init`, `asicdv new-block`, `asicdv makefile`, `asicdv blocks`: starting a project and
its blocks in a team's own repository.

- `init` writes the project files (asicdv.toml, regressions, gate rules, a Makefile including the
  package's fragment, .gitignore, CI examples for GitHub Actions and GitLab) from the templates in
  asicdv/resources/templates/init/.
- `new-block NAME --top MODULE --sources GLOB` reads the top's ports with pyslang, finds the clock,
  the reset (name and polarity) and the streams (asicdv.testbench.stream_names), and writes the
  block file, an env.py around asicdv.testbench.stream_env, a smoke test and a model hook.
Neither overwrites a file: any that exists already is an error naming it, before anything is written.
"""

from __future__ import annotations

import argparse
import glob
import re
from dataclasses import dataclass
from pathlib import Path

import asicdv
from asicdv import UserError, resource
from asicdv import project as projects
from asicdv.testbench import stream_names

TEMPLATES = resource("templates")

# template file -> where `asicdv init` writes it (relative to the project root)
INIT_FILES = {
    "asicdv.toml": "asicdv.toml",
    "smoke.yaml": "regressions/smoke.yaml",
    "nightly.yaml": "regressions/nightly.yaml",
    "gates.yaml": "regressions/gates.yaml",
    "gates-nightly.yaml": "regressions/gates-nightly.yaml",
    "Makefile": "Makefile",
    "gitignore": ".gitignore",
    "github-workflow.yml": ".github/workflows/asicdv.yml",
    "gitlab-ci.yml": ".gitlab-ci.yml",
}


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    assert not left, f"template placeholders left unfilled: {left}"
    return text


def _write_all(root: Path, files: dict[str, str]) -> list[Path]:
    """Write every file (relative path -> text) under root, or none if any exists already."""
    existing = [rel for rel in files if (root / rel).exists()]
    if existing:
        raise UserError(
            f"{root}: {', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "asicdv writes no file over another (move them away, or write the rest by hand)"
        )
    written = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


# ---------------------------------------------------------------------------------------------
# asicdv init


def init(args: argparse.Namespace) -> int:
    root = Path(args.dir).resolve()
    if not root.is_dir():
        raise UserError(f"{root}: no such folder")
    inside = _enclosing_project(root)
    if inside is not None and not args.force_nested:
        raise UserError(
            f"{root} is already inside the asicdv project of {inside}; "
            "give --force-nested to start a separate project here"
        )
    template = TEMPLATES / "init"
    files = {
        rel: _fill((template / name).read_text(), {"VERSION": asicdv.__version__}) for name, rel in INIT_FILES.items()
    }
    for path in _write_all(root, files):
        print(f"wrote {path.relative_to(root)}")
    print(
        "next: asicdv new-block NAME --top MODULE --sources 'rtl/NAME/*.v', then asicdv test NAME "
        "(make help lists the Makefile's targets)"
    )
    return 0


def _enclosing_project(folder: Path) -> Path | None:
    """The root of the project `folder` is inside of (not one in `folder` itself: init then says
    which of its files exist)."""
    try:
        root = projects.find(folder).parent
    except UserError:
        return None
    return None if root == folder else root


# ---------------------------------------------------------------------------------------------
# asicdv new-block

DIRECTIONS = {"In": "in", "Out": "out", "InOut": "inout", "Ref": "ref"}
_CLOCK = re.compile(r"^(clk|clock|aclk|clk_core|core_clk|sys_clk|clk_sys)(_i|_in)?$", re.IGNORECASE)
_CLOCK_ANY = re.compile(r"(clk|clock)", re.IGNORECASE)
_RESET = re.compile(r"(rst|reset)", re.IGNORECASE)


@dataclass(frozen=True)
class Port:
    name: str
    direction: str  # in, out, inout, ref
    bits: int
    signed: bool = False
    four_state: bool = True  # logic/wire (False: bit, int)


def read_ports(top: str, sources: list[Path]) -> list[Port]:
    """The top module's ports (pyslang elaborates the sources with `top` as the top)."""
    import pyslang
    from pyslang import ast, syntax

    options = ast.CompilationOptions()
    options.topModules = {top}
    compilation = ast.Compilation(pyslang.Bag([options]))
    modules = []
    for source in sources:
        tree = syntax.SyntaxTree.fromFile(str(source))
        compilation.addSyntaxTree(tree)
        modules += [m.header.name.value for m in tree.root.members if type(m).__name__ == "ModuleDeclarationSyntax"]
    if top not in modules:
        raise UserError(f"no module {top!r} in the sources; modules there: {', '.join(modules) or 'none'}")
    errors = [d for d in compilation.getAllDiagnostics() if d.isError()]
    if errors:
        text = pyslang.DiagnosticEngine.reportAll(compilation.sourceManager, errors).strip().splitlines()
        raise UserError(f"the sources do not elaborate with top {top}: {text[0] if text else 'errors'}")
    (instance,) = [i for i in compilation.getRoot().topInstances if i.name == top]
    return [
        Port(
            p.name,
            DIRECTIONS.get(str(p.direction).rpartition(".")[2], "inout"),
            p.type.bitWidth,
            p.type.isSigned,
            p.type.isFourState,
        )
        for p in instance.body.portList
    ]


def find_clock(ports: list[Port]) -> str:
    inputs = [p.name for p in ports if p.direction == "in" and p.bits == 1]
    for pattern in (_CLOCK, _CLOCK_ANY):
        found = [name for name in inputs if pattern.search(name)]
        if found:
            return found[0]
    raise UserError(f"no clock among the 1-bit inputs ({', '.join(inputs) or 'none'}); give --clock NAME")


def reset_is_active_low(name: str) -> bool:
    """rst_n, rst_ni, resetn, aresetn, rst_b, rst_l: active low; rst, reset, rst_i: active high."""
    lower = name.lower()
    if lower.endswith("_ni"):
        return True
    base = stream_names.strip_suffix(lower)
    return base.endswith(("_n", "_b", "_l")) or (base.endswith("n") and _RESET.search(base[:-1]) is not None)


def find_reset(ports: list[Port], clock: str) -> str:
    inputs = [p.name for p in ports if p.direction == "in" and p.bits == 1 and p.name != clock]
    found = [name for name in inputs if _RESET.search(name)]
    if not found:
        raise UserError(
            f"no reset among the 1-bit inputs ({', '.join(inputs) or 'none'}); give --reset NAME (rst, reset, rst_n...)"
        )
    return found[0]


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) or "Block"


def _tuple(items: list[str]) -> str:
    return "(" + ", ".join(f'"{item}"' for item in items) + ("," if len(items) == 1 else "") + ")"


def _yaml_list(items) -> str:
    return "[" + ", ".join(items) + "]"


def block_files(
    name: str, top: str, patterns: list[str], ports: list[Port], clock: str, reset: str, active_low: bool
) -> tuple[dict[str, str], list[stream_names.Found]]:
    """The files of a new block (relative path -> text) and the streams found."""
    directions = {p.name: p.direction for p in ports}
    bits = {p.name: p.bits for p in ports}
    found = stream_names.discover(directions, exclude=(clock, reset))
    owned = {signal for f in found for signal in f.names.signals()}
    tied = [p.name for p in ports if p.direction == "in" and p.name not in owned and p.name not in (clock, reset)]
    settle = [p.name for p in ports if p.direction == "out"]
    inputs = [f.names.name for f in found if f.direction == "in"]
    outputs = [f.names.name for f in found if f.direction == "out"]
    values = {
        "NAME": name,
        "TOP": top,
        "CLASS": _class_name(name),
        "INPUTS": _tuple(inputs),
        "OUTPUTS": _tuple(outputs),
        "TIED": _tuple(tied),
        "SETTLE": _tuple(settle),
    }
    stream_lines = []
    for f in found:
        fields = ", ".join(f"{k} ({bits[s]} bits)" for k, s in f.names.fields.items()) or "no payload"
        kind = "valid/ready" if f.names.ready else "valid-only"
        way = "input" if f.direction == "in" else "output"
        stream_lines.append(f"    {f.names.name}: {way}, {kind}; {fields}")
    values["STREAMS"] = "\n".join(stream_lines) or "    (no stream found: the model is not called)"
    first = next((f for f in found if f.direction == "in"), None)
    values["FIRST_INPUT"] = first.names.name if first else "in"
    values["FIELDS"] = (
        ", ".join(f'"{k}": self.rng.getrandbits({bits[s]})' for k, s in first.names.fields.items()) if first else ""
    )

    block_yaml = [
        f"# {name}: written by `asicdv new-block` from {top}'s ports (edit freely; see docs/reference.md).",
        f"name: {name}",
        f"top: {top}",
        f"sources: {_yaml_list(repr(p) if any(c in p for c in '*?[') else p for p in patterns)}",
        f"test_module: tb.{name}.{name}_tests",
        f"clock: {clock}",
        f"reset: {{name: {reset}, active: {'low' if active_low else 'high'}, cycles: 3}}",
    ]
    if found:
        block_yaml.append("streams:  # valid/ready (ready: null = valid-only) and payload signals, by port name")
        for f in found:
            ready = f.names.ready or "null"
            data = _yaml_list(f.names.fields.values())
            way = "the testbench drives it" if f.direction == "in" else "the design drives it"
            block_yaml.append(f"  {f.names.name}: {{valid: {f.names.valid}, ready: {ready}, data: {data}}}  # {way}")
    block_yaml += ["timeout_s: 300", "tests:", "  - {name: SmokeTest}", ""]

    template = TEMPLATES / "block"
    files = {
        f"tb/{name}/__init__.py": "",
        f"tb/{name}/block.yaml": "\n".join(block_yaml),
        f"tb/{name}/env.py": _fill((template / "env.py.in").read_text(), values),
        f"tb/{name}/{name}_tests.py": _fill((template / "tests.py.in").read_text(), values),
        f"models/{name}.py": _fill((template / "model.py.in").read_text(), values),
    }
    return files, found


def new_block(args: argparse.Namespace) -> int:
    project = projects.current()
    name = args.name
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise UserError(f"block name {name!r}: use lower-case letters, digits and _ (it names a Python module)")
    rel = Path("tb") / name / "block.yaml"
    if not (project.root / rel).match(str(project.root / project.block_glob)):
        raise UserError(
            f"{project.config}: blocks = {project.block_glob!r} would not find {rel}; new-block writes tb/NAME/"
        )
    patterns = args.sources
    sources: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(str(project.root / pattern)))
        if not matches:
            raise UserError(f"source pattern {pattern!r} matches no file under the project root {project.root}")
        sources += [Path(m) for m in matches]
    ports = read_ports(args.top, sources)
    names = {p.name for p in ports}
    for option, value in (("--clock", args.clock), ("--reset", args.reset)):
        if value is not None and value not in names:
            raise UserError(f"{option} {value}: {args.top} has no such port; ports: {', '.join(p.name for p in ports)}")
    clock = args.clock or find_clock(ports)
    reset = args.reset or find_reset(ports, clock)
    active_low = reset_is_active_low(reset) if args.reset_active is None else args.reset_active == "low"
    files, found = block_files(name, args.top, patterns, ports, clock, reset, active_low)
    for package in ("tb/__init__.py", "models/__init__.py"):  # regular packages: never another `tb`/`models`
        if not (project.root / package).exists():
            files[package] = ""
    for path in _write_all(project.root, files):
        print(f"wrote {path.relative_to(project.root)}")
    print(f"clock {clock}; reset {reset} (active {'low' if active_low else 'high'})")
    for f in found:
        ready = f.names.ready or "none (valid-only)"
        print(
            f"stream {f.names.name}: {'input' if f.direction == 'in' else 'output'}, valid {f.names.valid}, "
            f"ready {ready}, data {', '.join(f.names.fields.values()) or 'none'}"
        )
    if not found:
        print("no valid/ready stream found: bind yours in block.yaml `streams` (docs/reference.md)")
    print(f"next: asicdv test {name}; then write models/{name}.py and a test with stimulus")
    return 0


# ---------------------------------------------------------------------------------------------
# asicdv makefile, asicdv blocks


def makefile(args: argparse.Namespace) -> int:
    print(resource("asicdv.mk"))
    return 0


def blocks(args: argparse.Namespace) -> int:
    from asicdv.tools.blocks import all_blocks

    for name in all_blocks(projects.current()):
        print(name)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "init", help="start an asicdv project here: asicdv.toml, regressions, gate rules, Makefile, CI examples"
    )
    parser.add_argument("dir", nargs="?", default=".", help="the project folder (default: the working directory)")
    parser.add_argument("--force-nested", action="store_true", help="start a project inside another project's folder")
    parser.set_defaults(handler=init)

    parser = subparsers.add_parser(
        "new-block", help="a block from its RTL: block.yaml, env.py, a smoke test and a model hook"
    )
    parser.add_argument("name", help="the block's name (tb/NAME/, models/NAME.py)")
    parser.add_argument("--top", required=True, help="the top module")
    parser.add_argument(
        "--sources",
        required=True,
        nargs="+",
        metavar="GLOB",
        help="source files or globs, relative to the project root",
    )
    parser.add_argument("--clock", help="the clock port (default: found by name: clk, clk_i, clock...)")
    parser.add_argument("--reset", help="the reset port (default: found by name: rst, reset, rst_n, rst_ni...)")
    parser.add_argument(
        "--reset-active", choices=("high", "low"), help="the reset's polarity (default: low for _n/_ni/_b names)"
    )
    parser.set_defaults(handler=new_block)

    subparsers.add_parser("makefile", help="print the path of asicdv's Makefile fragment (include it)").set_defaults(
        handler=makefile
    )
    subparsers.add_parser("blocks", help="list the project's blocks, one a line").set_defaults(handler=blocks)
