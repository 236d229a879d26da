"""The one line every hypothesis property logs about its speed, and how to read it back.

`<name>: N examples in T s (R/s)`, one line per property run (passed or failed), e.g.
`RandomMessagesTest: 150 examples in 0.30 s (504/s)`. Kept free of cocotb and hypothesis
imports, so a bench or a report can parse run logs without either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The name: words with single spaces (a log line's columns are padded with several).
RATE_RE = re.compile(
    r"(?:^|(?<=\s\s))(?P<name>\S+(?: \S+)*): (?P<examples>\d+) examples in (?P<seconds>[\d.]+) s \((?P<rate>\d+)/s\)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class PropertyRate:
    name: str
    examples: int
    seconds: float
    examples_per_s: int


def rate_line(name: str, examples: int, seconds: float) -> str:
    rate = examples / seconds if seconds > 0 else 0.0
    return f"{name}: {examples} examples in {seconds:.2f} s ({rate:.0f}/s)"


def parse_rates(text: str) -> list[PropertyRate]:
    """Every rate line in a log, in order (a simulation log has one per property it ran)."""
    return [
        PropertyRate(m["name"], int(m["examples"]), float(m["seconds"]), int(m["rate"])) for m in RATE_RE.finditer(text)
    ]
