"""The project the user stands in: where its blocks, regressions, builds, results and data are.

A project is a folder with an `asicdv.toml`, or a `pyproject.toml` with a `[tool.asicdv]`
table; asicdv finds it by walking up from the working directory (or takes `--project DIR`
or ASICDV_PROJECT). Every path the framework uses comes from here: nothing depends on where
asicdv itself is installed. Keys (all optional; paths relative to the project root):

    blocks = "tb/*/block.yaml"      # glob of block files
    regressions = "regressions"     # folder of named regression files
    build = "build"                 # build cache
    results = "results"             # run folders, regressions, reports
    gates = "regressions/gates.yaml"   # default gate rules (else the package's own)
    commands = ["tb.sha256.cli"]    # modules whose register(subparsers) adds `asicdv <cmd>`
    [data]                          # named data folders, project.data("nist")
    nist = "../shared/data/nist"
    [history]
    url = "postgresql+psycopg://dv@db/nightly"   # results database (default results/history.sqlite)
    [farm]                          # batch farm settings: asicdv.tools.farm
    queue = "debug"
    [lint]
    verilator_flags = ["-Wall"]     # `asicdv lint`
    python = ["ruff"]               # what `make lint` runs over the project's Python
    [limits]                        # a regression planning more is refused (docs/reliability.md)
    max_runs = 100000               # runs of one regression
    max_reseeds = 10000             # seeds per test (regression entries and block.yaml)

Inside a simulation the project comes from ASICDV_PROJECT, which every run sets.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from asicdv import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAME = "asicdv.toml"
KEYS = {"blocks", "regressions", "build", "results", "gates", "commands", "data", "lint", "limits", "history", "farm"}
LINT_KEYS = {"verilator_flags", "python"}
LIMIT_KEYS = {"max_runs", "max_reseeds"}


@dataclass(frozen=True)
class Project:
    root: Path
    config: Path  # the file the settings came from
    block_glob: str = "tb/*/block.yaml"
    regressions: Path = Path("regressions")
    build_dir: Path = Path("build")
    results: Path = Path("results")
    gates: Path | None = None  # None: the package's default rules
    commands: tuple[str, ...] = ()
    data_dirs: dict[str, Path] = field(default_factory=dict)
    verilator_lint_flags: tuple[str, ...] = ("-Wall",)
    python_lint: tuple[str, ...] = ("ruff",)
    max_runs: int = 100_000  # a regression planning more runs is refused
    max_reseeds: int = 10_000  # per test entry
    history_url: str | None = None  # results database ([history] url); None: results/history.sqlite
    farm: dict = field(default_factory=dict)  # [farm] settings (asicdv.tools.farm)

    @property
    def build(self) -> Path:
        """The build cache; ASICDV_BUILD_ROOT names another one (the bench's cold runs use an empty one)."""
        other = os.environ.get("ASICDV_BUILD_ROOT")
        return Path(other).resolve() if other else self.build_dir

    def path(self, relative: str | Path) -> Path:
        """A path named in a project file, resolved from the project root."""
        return (self.root / relative).resolve() if not Path(relative).is_absolute() else Path(relative)

    def data(self, name: str) -> Path:
        """The data folder the project calls `name` ([data] in its config)."""
        if name not in self.data_dirs:
            known = ", ".join(self.data_dirs) or "none"
            raise UserError(f"{self.config}: no data folder {name!r} in [data]; known: {known}")
        folder = self.data_dirs[name]
        if not folder.exists():
            raise UserError(f"{self.config}: data folder {name!r} is {folder}, which does not exist")
        return folder

    def env(self) -> dict[str, str]:
        """What a child process (a simulation) needs to find this project again."""
        return {"ASICDV_PROJECT": str(self.root)}


def _read_settings(path: Path) -> dict | None:
    """The asicdv settings in this file, or None if it is a pyproject.toml without them."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path}: cannot read project settings: {exc}") from None
    if path.name == "pyproject.toml":
        return data.get("tool", {}).get("asicdv")
    return data


def _strings(value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{where} must be a list of strings, got {value!r}")
    return tuple(value)


def _positive_int(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{where} must be a positive integer, got {value!r}")
    return value


def load(config: Path) -> Project:
    """The project whose settings are in `config` (an asicdv.toml or pyproject.toml)."""
    config = config.resolve()
    settings = _read_settings(config)
    if settings is None:
        raise UserError(f"{config}: no [tool.asicdv] table")
    unknown = sorted(set(settings) - KEYS)
    if unknown:
        raise UserError(f"{config}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}")
    root = config.parent
    where = str(config)

    def folder(key: str, default: str) -> Path:
        value = settings.get(key, default)
        if not isinstance(value, str) or not value:
            raise UserError(f"{where}: {key!r} must be a path (a string), got {value!r}")
        return (root / value).resolve()

    block_glob = settings.get("blocks", "tb/*/block.yaml")
    if not isinstance(block_glob, str) or not block_glob:
        raise UserError(f"{where}: 'blocks' must be a glob (a string), got {block_glob!r}")
    data = settings.get("data", {})
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise UserError(f"{where}: [data] maps a name to a folder path, got {data!r}")
    lint = settings.get("lint", {})
    if not isinstance(lint, dict) or set(lint) - LINT_KEYS:
        raise UserError(f"{where}: [lint] takes {', '.join(sorted(LINT_KEYS))}, got {lint!r}")
    limits = settings.get("limits", {})
    if not isinstance(limits, dict) or set(limits) - LIMIT_KEYS:
        raise UserError(f"{where}: [limits] takes {', '.join(sorted(LIMIT_KEYS))}, got {limits!r}")
    history = settings.get("history", {})
    if not isinstance(history, dict) or set(history) - {"url"} or not isinstance(history.get("url", ""), str):
        raise UserError(f'{where}: [history] takes url = "<database URL>", got {history!r}')
    farm = settings.get("farm", {})
    if not isinstance(farm, dict):
        raise UserError(f"{where}: [farm] is a table of farm settings, got {farm!r}")
    from asicdv.tools.farm import check_settings

    check_settings(farm, where)
    gates = settings.get("gates")
    if gates is not None and not isinstance(gates, str):
        raise UserError(f"{where}: 'gates' must be a path (a string), got {gates!r}")
    if gates is None and (root / "regressions" / "gates.yaml").is_file():
        gates = "regressions/gates.yaml"
    return Project(
        root=root,
        config=config,
        block_glob=block_glob,
        regressions=folder("regressions", "regressions"),
        build_dir=folder("build", "build"),
        results=folder("results", "results"),
        gates=(root / gates).resolve() if gates else None,
        commands=_strings(settings.get("commands", []), f"{where}: 'commands'"),
        data_dirs={name: (root / value).resolve() for name, value in data.items()},
        verilator_lint_flags=_strings(lint.get("verilator_flags", ["-Wall"]), f"{where}: [lint] verilator_flags"),
        python_lint=_strings(lint.get("python", ["ruff"]), f"{where}: [lint] python"),
        max_runs=_positive_int(limits.get("max_runs", 100_000), f"{where}: [limits] max_runs"),
        max_reseeds=_positive_int(limits.get("max_reseeds", 10_000), f"{where}: [limits] max_reseeds"),
        history_url=history.get("url") or None,
        farm=farm,
    )


def find(start: Path | None = None) -> Path:
    """The settings file of the project `start` (default: the working directory) is in."""
    start = (start or Path.cwd()).resolve()
    looked = []
    for folder in (start, *start.parents):
        looked.append(str(folder))
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _read_settings(pyproject) is not None:
            return pyproject
    raise UserError(
        f"no asicdv project here: no {CONFIG_NAME} or pyproject.toml with [tool.asicdv] in "
        f"{looked[0]} or any folder above it (up to {looked[-1]}); run `asicdv init` to make one, "
        "or give --project DIR"
    )


def locate(explicit: str | Path | None = None) -> Project:
    """The project named by `explicit` (a folder or settings file), else ASICDV_PROJECT, else found
    by walking up from the working directory."""
    named = explicit or os.environ.get("ASICDV_PROJECT")
    if named:
        path = Path(named).expanduser().resolve()
        if path.is_dir():
            candidates = [path / CONFIG_NAME, path / "pyproject.toml"]
            config = next((c for c in candidates if c.is_file() and _read_settings(c) is not None), None)
            if config is None:
                raise UserError(f"{path}: not an asicdv project (no {CONFIG_NAME} or [tool.asicdv] in pyproject.toml)")
            return _cached(config)
        if path.is_file():
            return _cached(path)
        raise UserError(f"project {named}: no such folder or file")
    return _cached(find())


@cache
def _cached(config: Path) -> Project:
    return load(config)


def current() -> Project:
    """The project of this process: inside a simulation, the one the run was started for."""
    project = locate()
    root = str(project.root)
    if root not in sys.path:  # the project's own packages (tb.*, models.*) import by name
        sys.path.insert(0, root)
    return project


def use(project: Project) -> None:
    """Make `project` this process's current project (and that of every process it starts)."""
    os.environ["ASICDV_PROJECT"] = str(project.root)
