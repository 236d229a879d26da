"""Which runs a change can affect: `asicdv regress NAME --changed-since REF`.

A block is affected when a file it is built or tested from changed since the git revision REF
(its RTL sources with those of the blocks it `uses`, its block file's folder — the testbench — and
the project modules its testbench imports, such as `models/<name>.py`). A changed file that no
block owns and that is in no run (documentation, tests/, bench/, scripts/) could affect anything, so every
block is selected and the reason says which file did it. A random sample of the other runs
(seeded by the regression's seed) still runs, so nothing goes untested for long. With
--coverage-from, asicdv.tools.impact_coverage narrows each block to the tests that reach a changed line.
"""

from __future__ import annotations

import random
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from asicdv import UserError

# Files that no simulation run is built or tested from: documentation, and (for this kind of
# project layout) the unit tests, benchmarks and maintenance scripts beside the blocks.
NOT_IN_ANY_RUN = re.compile(
    r"(^|/)(docs?/|README[^/]*$|LICENSE$|CHANGELOG[^/]*$)|\.(md|rst|txt|png|svg)$|^(tests|bench|scripts)/"
)


@dataclass(frozen=True)
class Selection:
    blocks: frozenset[str]  # blocks whose every run is selected
    reasons: dict[str, list[str]]  # block -> the changed files that selected it
    changed: tuple[str, ...]
    everything_because: str | None = None  # a changed file no block owns


def changed_files(root: Path, ref: str, new: str | None = None) -> list[str]:
    """Files that differ between REF and the working tree (committed or not; or the revision `new`),
    relative to root."""
    check = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=root, capture_output=True, text=True
    )
    if check.returncode != 0:
        raise UserError(f"--changed-since {ref!r}: not a git revision of {root}")
    diff = subprocess.run(
        ["git", "diff", "--name-only", ref, *([new] if new else []), "--", "."],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if new:
        return sorted(diff.stdout.split())
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"], cwd=root, capture_output=True, text=True
    )
    return sorted(set(diff.stdout.split()) | set(untracked.stdout.split()))


def _imported_project_files(folder: Path, root: Path) -> set[str]:
    """Project modules the testbench in `folder` imports (`from models.x import ...`, `import models.x`)."""
    found = set()
    for source in folder.rglob("*.py"):
        text = source.read_text(errors="replace")
        modules = re.findall(r"^\s*import\s+([\w.]+)", text, re.M)
        for package, names in re.findall(r"^\s*from\s+([\w.]+)\s+import\s+\(?([\w, \n]+)\)?", text, re.M):
            modules += [package, *(f"{package}.{n.split()[0]}" for n in names.split(",") if n.strip())]
        for module in modules:
            path = root.joinpath(*module.split(".")).with_suffix(".py")
            if path.is_file():
                found.add(path.relative_to(root).as_posix())
    return found


def owned_files(block, root: Path) -> set[str]:
    folder = block.path.parent
    files = {p.relative_to(root).as_posix() for p in block.sources if p.is_relative_to(root)}
    files |= {p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    return files | _imported_project_files(folder, root)


def select(blocks: dict, root: Path, ref: str, new: str | None = None) -> Selection:
    changed = changed_files(root, ref, new)
    owners = {name: owned_files(block, root) for name, block in blocks.items()}
    reasons: dict[str, list[str]] = {}
    everything = None
    for path in changed:
        hit = [name for name, files in owners.items() if path in files]
        for name in hit:
            reasons.setdefault(name, []).append(path)
        if not hit and not NOT_IN_ANY_RUN.search(path) and everything is None:
            everything = path
    chosen = frozenset(blocks) if everything else frozenset(reasons)
    return Selection(chosen, reasons, tuple(changed), everything)


def apply(specs: list, selection: Selection, sample_percent: float, seed: int, chosen=None) -> tuple[list, int]:
    """The runs of the selected blocks (or those `chosen(spec)` is true for) plus a seeded sample of
    the rest; returns (runs, sampled)."""
    if not 0 <= sample_percent <= 100:
        raise UserError(f"--sample {sample_percent}: a percentage from 0 to 100")
    rng = random.Random(f"impact-sample:{seed}")
    kept, sampled = [], 0
    for spec in specs:
        if chosen(spec) if chosen else spec.block in selection.blocks:
            kept.append(spec)
        elif rng.random() * 100 < sample_percent:
            kept.append(spec)
            sampled += 1
    return kept, sampled
