"""Finer than whole blocks: the tests that reach a changed RTL line (`--coverage-from DIR`).

For each block the block-level selection chose, the changed lines of its RTL sources are mapped to
the coverage's revision (asicdv.tools.diff_hunks) and looked up in the per-test index
(asicdv.tools.test_reach). Only the tests that reach one of them run, unless something makes that
unsafe; then the whole block runs and the reason says what: a changed testbench or model file, a
changed line that is no coverage point (a declaration, a continuous assignment) or that no test
reaches, an RTL file the coverage does not know or measured with uncommitted edits. A test the
index has no coverage for (another variant, a test that is not in the coverage regression) runs.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from asicdv import UserError
from asicdv.tools import diff_hunks
from asicdv.tools.impact import Selection
from asicdv.tools.test_reach import test_key


@dataclass
class BlockChoice:
    whole_because: str | None = None  # None: only the tests below run
    reaching: dict[str, list[str]] = field(default_factory=dict)  # test key -> changed "file:line" it reaches
    comments_only: list[str] = field(default_factory=list)  # changed RTL files whose change is comments only


def resolve(root: Path, revision: str) -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd=root, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise UserError(f"{revision!r}: not a git revision of {root}")
    return result.stdout.strip()


def choose(name: str, block, files: list[str], index: dict, root: Path, lines_of) -> BlockChoice:
    """One block's choice; `lines_of(path)`: the changed lines of an RTL file, numbered as in the coverage."""
    sources = {p.relative_to(root).as_posix() for p in block.sources if p.is_relative_to(root)}
    commit = index["commit"]
    choice = BlockChoice()
    tests = {key: data["lines"] for key, data in index["tests"].items() if key.startswith(name + "/")}
    for path in files:
        if path not in sources:
            return BlockChoice(f"{path} changed (testbench or model: every test of {name} can see it)")
        if path in index.get("dirty", []):
            return BlockChoice(f"{path} had uncommitted edits when the coverage ran: its line numbers are unknown")
        points = set(index["points"].get(path, ()))
        if not points or not diff_hunks.exists_at(root, commit, path):
            return BlockChoice(f"{path}: the coverage (at {commit[:10]}) does not know this file")
        lines = lines_of(path)
        if not lines:
            choice.comments_only.append(path)
            continue
        for line in sorted(lines):
            where = f"{path}:{line}"
            if line not in points:
                return BlockChoice(f"{where} changed and is no coverage point (not a statement in an always block)")
            reach = [key for key, hit in tests.items() if line in hit.get(path, ())]
            if not reach:
                return BlockChoice(f"{where} changed and no test with coverage reaches it")
            for key in reach:
                choice.reaching.setdefault(key, []).append(where)
    return choice


def refine(
    selection: Selection, blocks: dict, index: dict, root: Path, ref: str, new: str | None = None
) -> dict[str, BlockChoice]:
    """Per selected block, whether it runs whole (and why) or which tests reach which changed lines.
    `new`: the revision the change ends at (None: the working tree)."""
    ref_commit = resolve(root, ref)

    def lines_of(path: str) -> set[int]:
        return diff_hunks.lines_at_coverage(root, ref_commit, index["commit"], new, path)

    return {
        name: choose(name, blocks[name], selection.reasons.get(name, []), index, root, lines_of)
        if not selection.everything_because
        else BlockChoice(f"{selection.everything_because} is in no block's files")
        for name in sorted(selection.blocks)
    }


def keeps(spec, choice: BlockChoice | None, index: dict) -> str | None:
    """Why this planned run is kept ('whole', 'reaches', 'no coverage'), or None."""
    if choice is None:
        return None
    if choice.whole_because:
        return "whole"
    key = test_key(spec.block, spec.variant, spec.parameters, spec.test)
    if key in choice.reaching:
        return "reaches"
    if choice.reaching and key not in index["tests"]:  # a behaviour changed and we cannot tell where
        return "no coverage"
    return None


def _short(where: list[str], most: int = 4) -> str:
    return ", ".join(where[:most]) + (f" and {len(where) - most} more" if len(where) > most else "")


def explain(specs: list, choices: dict[str, BlockChoice], index: dict) -> list[str]:
    """Per block: why its runs are kept, and how many of its runs that is."""
    lines = []
    for name, choice in choices.items():
        runs = [s for s in specs if s.block == name]
        why: dict[str, list] = {}
        for spec in runs:
            reason = keeps(spec, choice, index)
            if reason:
                why.setdefault(reason, []).append(spec)
        kept = sum(len(v) for v in why.values())
        if choice.whole_because:
            lines.append(f"{name}: every run ({kept}): {choice.whole_because}")
            continue
        head = f"{name}: {kept} of {len(runs)} runs by coverage"
        if choice.comments_only:
            head += f" ({', '.join(choice.comments_only)}: comments only)"
        lines.append(head)
        for key, where in sorted(choice.reaching.items()):
            count = sum(test_key(s.block, s.variant, s.parameters, s.test) == key for s in runs)
            if count:
                lines.append(f"  {key} ({count} runs) reaches {_short(where)}")
        untracked = sorted({test_key(s.block, s.variant, s.parameters, s.test) for s in why.get("no coverage", [])})
        if untracked:
            lines.append(f"  no coverage for {_short(untracked)}: they run too")
    return lines
