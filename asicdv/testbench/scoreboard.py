"""In-order scoreboard: expected transactions (from a golden model) vs the DUT's.

Values are ints, bytes, numpy arrays, or lists/tuples/dicts of them (nested: rows of a
matrix). A mismatch is reported with both values in hex, long ones abbreviated, and then
what differs: the fields of a dict, and for sequences and matrices each differing element
by its index (`row[2]`, `[1][3]`) with the expected and the actual value, and how many of
how many differ.
"""

from __future__ import annotations

from collections import deque
from typing import Any

HEAD, TAIL = 8, 4  # a sequence longer than HEAD + TAIL + 1 items shows these many of each end
MAX_BYTES = 32  # longer bytes show their first MAX_BYTES and their length
MAX_CHARS = 400  # a value's text is cut here whatever its shape
MAX_DIFFS = 8  # differing elements listed; the rest are counted


def plain(value: Any) -> Any:
    """The value with numpy arrays and scalars made Python lists and ints, at any depth
    (duck-typed: numpy is not imported here)."""
    if hasattr(value, "dtype") and hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CHARS else f"{text[:MAX_CHARS]}... ({len(text)} chars)"


def _hex(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        if not value:
            return "(empty)"
        if len(value) > MAX_BYTES:
            return f"{bytes(value[:MAX_BYTES]).hex()}... ({len(value)} bytes)"
        return value.hex()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_hex(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (tuple, list)):
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
        if len(value) > HEAD + TAIL + 1:
            shown = [*map(_hex, value[:HEAD]), "...", *map(_hex, value[-TAIL:])]
            return opening + ", ".join(shown) + f"{closing} ({len(value)} items)"
        return opening + ", ".join(map(_hex, value)) + closing
    return repr(value)


def to_hex(value: Any) -> str:
    """The value in hex, field by field and element by element; long values abbreviated."""
    return _cut(_hex(plain(value)))


def _sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple))


class _Absent:
    """Stands for an element one side does not have."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


MISSING, NONE = _Absent("(missing)"), _Absent("(none)")


def _leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(map(_leaves, value.values()))
    if _sequence(value):
        return sum(map(_leaves, value))
    return 1


def differences(expected: Any, actual: Any, path: str = "") -> tuple[list[tuple[str, Any, Any]], int]:
    """(differing elements as (index path, expected, actual), elements compared) of two values
    already made `plain`. Sequences are compared element by element at any depth, dicts field
    by field; a length difference shows as the missing or extra elements."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = list(expected) + [k for k in actual if k not in expected]
        pairs = [(f"{path}.{k}" if path else str(k), k in expected, k in actual, k) for k in keys]
    elif _sequence(expected) and _sequence(actual):
        count = max(len(expected), len(actual))
        pairs = [(f"{path}[{i}]", i < len(expected), i < len(actual), i) for i in range(count)]
    else:
        return ([] if expected == actual else [(path, expected, actual)]), 1
    found, total = [], 0
    for sub, has_expected, has_actual, key in pairs:
        if not has_actual:
            found.append((sub, expected[key], MISSING))
            total += _leaves(expected[key])
        elif not has_expected:
            found.append((sub, NONE, actual[key]))
        else:
            more, count = differences(expected[key], actual[key], sub)
            found += more
            total += count
    return found, total


def _shape(value: Any) -> str:
    dims = []
    while _sequence(value):
        dims.append(len(value))
        if not value:
            break
        value = value[0]
    return "x".join(map(str, dims))


def describe_mismatch(label: str, expected: Any, actual: Any) -> str:
    """What a person needs to act on a mismatch: both values, then what differs."""
    expected, actual = plain(expected), plain(actual)
    lines = [f"{label}: mismatch", f"  expected: {to_hex(expected)}", f"  actual:   {to_hex(actual)}"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        differing = [k for k in expected if expected.get(k) != actual.get(k)]
        differing += [k for k in actual if k not in expected]
        lines.append(f"  differing fields: {', '.join(map(str, differing))}")
    if isinstance(expected, (bytes, bytearray)) and isinstance(actual, (bytes, bytearray)):
        offsets = [i for i, (e, a) in enumerate(zip(expected, actual, strict=False)) if e != a]
        text = f"  {len(offsets)} of {min(len(expected), len(actual))} bytes differ"
        if offsets:
            text += f", first at offset {offsets[0]}"
        if len(expected) != len(actual):
            text += f"; lengths {len(expected)} expected, {len(actual)} actual"
        lines.append(text)
        return "\n".join(lines)
    if not (_sequence(expected) and _sequence(actual)) and not (
        isinstance(expected, dict) and isinstance(actual, dict) and any(map(_sequence, expected.values()))
    ):
        return "\n".join(lines)
    found, total = differences(expected, actual)
    if _sequence(expected) and _sequence(actual) and _shape(expected) != _shape(actual):
        lines.append(f"  shapes differ: expected {_shape(expected)}, actual {_shape(actual)}")
    lines.append(f"  {len(found)} of {total} elements differ:")
    for where, want, got in found[:MAX_DIFFS]:
        lines.append(f"    {where or '(value)'}: expected {to_hex(want)}, actual {to_hex(got)}")
    if len(found) > MAX_DIFFS:
        lines.append(f"    ... and {len(found) - MAX_DIFFS} more")
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
        if plain(actual) == plain(expected):
            self.matched += 1
            return True
        label = f"{self.name} transaction {self.matched + self.errors}"
        if context is not None:
            label += f" (input {to_hex(context)})"
        return self._error(describe_mismatch(label, expected, actual))

    def matched_if(self, equal: bool) -> bool:
        """A transaction the caller compared itself (numpy rows, say): counted as a match when
        `equal` and nothing else is still expected before it. Otherwise False, and the caller
        expects and observes it, for the judgement and its report."""
        if equal and not self.expected:
            self.matched += 1
            return True
        return False

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


class BatchedScoreboard(Scoreboard):
    """A Scoreboard whose model runs on many transactions at once: `observe_from(inputs, actual)`
    keeps the DUT's output with the inputs it came from; every `batch` of them, and before
    `check()`, `model_many(list of inputs)` gives their expected values, and each is judged in the
    order observed, as `expect()` then `observe()` would. For a vectorized model (numpy over the
    batch); `context(inputs)` is what a mismatch shows as the input."""

    def __init__(self, name: str, model_many, *, batch: int = 1024, context=None):
        super().__init__(name)
        self.model_many = model_many
        self.batch = batch
        self.context = context
        self.pending: list[tuple[Any, Any]] = []

    def observe_from(self, inputs: Any, actual: Any) -> None:
        self.pending.append((inputs, actual))
        if len(self.pending) >= self.batch:
            self.flush()

    def observe(self, actual: Any) -> bool:
        self.flush()  # an output without inputs is judged after every one before it
        return super().observe(actual)

    def flush(self) -> None:
        """Judge every kept transaction now."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        expected = self.model_many([inputs for inputs, _ in pending])
        for (inputs, actual), value in zip(pending, expected, strict=True):
            super().expect(value, self.context(inputs) if self.context else None)
            super().observe(actual)

    def clear(self) -> None:
        self.pending.clear()
        super().clear()

    def check(self, *, drained: bool = True) -> None:
        self.flush()
        super().check(drained=drained)
