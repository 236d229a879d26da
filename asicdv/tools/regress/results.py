"""What a regression records: `results.jsonl` (ResultStore) and failure signatures."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import threading
from datetime import datetime, timezone
from pathlib import Path

# ---------------------------------------------------------------- results


class ResultStore:
    """`results.jsonl`: one JSON line per finished run, appended whole and synced as the run ends.

    A line is one write(2) on an O_APPEND descriptor; if the write fails part-way (a full disk) the file
    is cut back to where it was, so a failed append leaves no partial line. A line cut by a kill before
    this (the last line with no newline) is removed by `repair()` before anything is appended, so it is
    never merged with the next record."""

    def __init__(self, out: Path, name: str = "results.jsonl", key: str = "id", merge: bool = False):
        self.path = out / name
        self.key = key  # the field that names a record; the last line per name wins
        self.merge = merge  # later lines update the fields of earlier ones (sessions: start, then end)
        self._lock = threading.Lock()

    def repair(self) -> int:
        """Cut a torn last line (no trailing newline); returns the bytes removed."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return 0
        if size == 0:
            return 0
        with open(self.path, "rb+") as stream:
            stream.seek(size - 1)
            if stream.read(1) == b"\n":
                return 0
            keep, position = 0, size
            while position > 0:  # back to the last newline, a chunk at a time
                start = max(0, position - (1 << 16))
                stream.seek(start)
                cut = stream.read(position - start).rfind(b"\n")
                if cut >= 0:
                    keep = start + cut + 1
                    break
                position = start
            stream.truncate(keep)
            stream.flush()
            os.fsync(stream.fileno())
            return size - keep

    def append(self, record: dict) -> None:
        data = (json.dumps(record, sort_keys=True) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                before = os.fstat(fd).st_size
                try:
                    written = os.write(fd, data)
                    if written != len(data):
                        raise OSError(errno.ENOSPC, f"short write to {self.path} ({written} of {len(data)} bytes)")
                    os.fsync(fd)
                except OSError:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, before)  # no partial line left behind
                    raise
            finally:
                os.close(fd)

    def load(self) -> dict[str, dict]:
        """The latest record of every run (a line that is not a whole record is ignored)."""
        records: dict[str, dict] = {}
        if self.path.exists():
            for line in self.path.read_bytes().splitlines():
                try:
                    record = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
                if isinstance(record, dict) and isinstance(record.get(self.key), str):
                    name = record[self.key]
                    records[name] = {**records[name], **record} if self.merge and name in records else record
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
    (re.compile(r"(?<!\w)-?\d+(?:\.\d+)?\b"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def first_line(message: str, width: int = 160) -> str:
    """A message's first non-blank line as people read it (numbers kept), cut to `width` with an ellipsis."""
    first = " ".join(next((line for line in message.splitlines() if line.strip()), "(no message)").split())
    return first if len(first) <= width else first[: width - 1] + "\u2026"


def signature(message: str, test: str | None = None) -> str:
    """A failure's bucket: its first line with the test's name, numbers, hex and paths stripped, so
    one bug failing several tests (or seeds) is one bucket that lists them."""
    first = next((line for line in message.splitlines() if line.strip()), "(no message)")
    if test:
        first = re.sub(rf"(?<![\w.]){re.escape(test)}(?![\w])", "<test>", first)
    for pattern, replacement in _SIGNATURE_RULES:
        first = pattern.sub(replacement, first)
    return first.strip()[:200]


def write_atomic(path: Path, text: str) -> None:
    """Write a whole file or nothing: a kill or a full disk leaves the previous version."""
    scratch = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        scratch.write_text(text)
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
