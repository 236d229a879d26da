"""What a regression records: `results.jsonl` (ResultStore) and failure signatures."""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import datetime, timezone
from pathlib import Path

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


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
