"""Which lines of a file a change touches, from `git diff -U0` hunks.

A hunk `@@ -a,b +c,d @@` replaces old lines a..a+b-1 with new lines c..c+d-1 (b or d 0: a pure
insertion or deletion, placed after line a or c). The lines of a revision a change touches are the
replaced lines on that revision's side; for an insertion, the two lines around the insertion point
(a statement can change meaning with a line added beside it). Hunks that only add, remove or edit
comments and blank lines change no behaviour and touch nothing.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from asicdv import UserError

_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_COMMENT_OR_BLANK = re.compile(r"^\s*(//.*)?$")


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    removed: tuple[str, ...]
    added: tuple[str, ...]

    @property
    def comments_only(self) -> bool:
        return all(_COMMENT_OR_BLANK.match(text) for text in (*self.removed, *self.added))

    def lines(self, side: str) -> set[int]:
        """The lines this hunk touches on the old or new side."""
        start, count = (self.old_start, self.old_count) if side == "old" else (self.new_start, self.new_count)
        if count:
            return set(range(start, start + count))
        return {n for n in (start, start + 1) if n >= 1}  # inserted after line `start` on this side


def parse(diff_text: str) -> list[Hunk]:
    """The hunks of one file's `git diff -U0` output."""
    hunks: list[Hunk] = []
    header = None
    removed: list[str] = []
    added: list[str] = []

    def close():
        if header:
            a, b, c, d = header
            hunks.append(Hunk(a, b, c, d, tuple(removed), tuple(added)))

    for text in diff_text.splitlines():
        match = _HEADER.match(text)
        if match:
            close()
            a, b, c, d = match.groups()
            header = (int(a), 1 if b is None else int(b), int(c), 1 if d is None else int(d))
            removed, added = [], []
        elif header and text.startswith("-"):
            removed.append(text[1:])
        elif header and text.startswith("+"):
            added.append(text[1:])
    close()
    return hunks


def touched(hunks: list[Hunk], side: str, text: list[str] | None = None) -> set[int]:
    """Every line of one side that a behaviour-changing hunk touches. With that side's text, the
    comment and blank lines among them are left out, unless a hunk touches no other line (code
    inserted between comments: the comment lines stand for it)."""
    found: set[int] = set()
    for hunk in hunks:
        if hunk.comments_only:
            continue
        lines = hunk.lines(side)
        if text is not None:
            code = {n for n in lines if n <= len(text) and not _COMMENT_OR_BLANK.match(text[n - 1])}
            lines = code or lines
        found |= lines
    return found


def git_diff(root: Path, old: str, new: str | None, path: str) -> list[Hunk]:
    """Hunks of `path` from revision `old` to revision `new` (None: the working tree)."""
    command = ["git", "diff", "-U0", "--no-color", "--no-ext-diff", old, *([new] if new else []), "--", path]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"git diff {old} {new or ''} -- {path}: {result.stderr.strip() or 'failed'}")
    return parse(result.stdout)


def text_at(root: Path, revision: str, path: str) -> list[str] | None:
    result = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=root, capture_output=True, text=True)
    return result.stdout.splitlines() if result.returncode == 0 else None


def exists_at(root: Path, revision: str, path: str) -> bool:
    result = subprocess.run(["git", "cat-file", "-e", f"{revision}:{path}"], cwd=root, capture_output=True)
    return result.returncode == 0


def lines_at_coverage(root: Path, ref: str, coverage_commit: str, new: str | None, path: str) -> set[int]:
    """The lines of `path` at the coverage's revision that the change from `ref` to `new` can touch.

    Coverage numbers lines as at `coverage_commit`. Lines that differ between it and the new code are
    the old side of coverage->new; lines that differ between ref and coverage (changes since ref
    the coverage already contains) are the new side of ref->coverage. Their union holds every line
    the change since ref touches (and, when the coverage is older than ref, some more)."""
    text = text_at(root, coverage_commit, path)
    lines = touched(git_diff(root, coverage_commit, new, path), "old", text)
    if ref != coverage_commit:
        lines |= touched(git_diff(root, ref, coverage_commit, path), "new", text)
    return lines
