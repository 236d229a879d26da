"""In-order scoreboard: expected transactions (from a golden model) vs the DUT's.

Reports the first mismatch with both values in hex. Values are ints, bytes, or
dicts/tuples of them; each is shown in hex field by field.
"""

from __future__ import annotations

from collections import deque
from typing import Any


def to_hex(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex() or "(empty)"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {to_hex(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(to_hex(v) for v in value) + ")"
    return repr(value)


def describe_mismatch(label: str, expected: Any, actual: Any) -> str:
    lines = [f"{label}: mismatch", f"  expected: {to_hex(expected)}", f"  actual:   {to_hex(actual)}"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        differing = [k for k in expected if expected.get(k) != actual.get(k)]
        lines.append(f"  differing fields: {', '.join(differing)}")
    return "\n".join(lines)


class Scoreboard:
    """Compare DUT transactions, in order, with expected ones.

    `expect()` queues what the model predicts; `observe()` checks the DUT's next
    transaction against the oldest expectation. `check()` raises on the first
    mismatch (or on leftovers), so a test fails with both values in hex.
    """

    def __init__(self, name: str):
        self.name = name
        self.expected: deque[tuple[Any, Any]] = deque()
        self.matched = 0
        self.errors = 0
        self.first_mismatch: str | None = None
        self.last_mismatch: str | None = None

    def expect(self, value: Any, context: Any = None) -> None:
        self.expected.append((value, context))

    def observe(self, actual: Any) -> bool:
        if not self.expected:
            return self._error(f"{self.name}: unexpected transaction from the DUT: {to_hex(actual)}")
        expected, context = self.expected.popleft()
        if actual == expected:
            self.matched += 1
            return True
        label = f"{self.name} transaction {self.matched + self.errors}"
        if context is not None:
            label += f" (input {to_hex(context)})"
        return self._error(describe_mismatch(label, expected, actual))

    def clear(self) -> None:
        """Forget expectations and errors: the next transaction is judged on its own
        (each hypothesis example starts from a clear board)."""
        self.expected.clear()
        self.matched = self.errors = 0
        self.first_mismatch = self.last_mismatch = None

    def error(self, message: str) -> bool:
        """Record a failure that is not a value mismatch (e.g. a protocol violation)."""
        return self._error(f"{self.name}: {message}")

    def _error(self, message: str) -> bool:
        self.errors += 1
        if self.first_mismatch is None:
            self.first_mismatch = message
        self.last_mismatch = message
        return False

    def check(self, *, drained: bool = True) -> None:
        """Raise AssertionError if anything mismatched, or (drained) is still expected."""
        if self.errors:
            text = f"{self.errors} error(s); first: {self.first_mismatch}"
            if self.errors > 1:
                text += f"\nlatest: {self.last_mismatch}"
            raise AssertionError(text)
        if drained and self.expected:
            missing = to_hex(self.expected[0][0])
            raise AssertionError(
                f"{self.name}: {len(self.expected)} expected transaction(s) never came; first: {missing}"
            )
