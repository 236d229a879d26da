"""Which signals make up a stream: naming conventions, from signal names alone.

Pure Python (no cocotb): the simulator side binds streams with it (asicdv.testbench.stream) and
`asicdv new-block` finds a design's streams with it from the top's ports (asicdv.tools.scaffold).

A stream is a valid signal, an optional ready signal (None: a valid-only stream, where every
rising edge with valid high moves a beat) and payload fields (field name -> signal name). The
conventions, tried in this order for a stream called NAME:

1. prefix, as cocotbext-axi binds: `NAME_valid`, `NAME_ready` (optional) and every other
   `NAME_*` signal, a field named without the prefix (`res_valid`, `res_ready`, `res_data`);
2. prefix with a direction suffix: `NAME_valid_i`, `NAME_ready_o`, `NAME_data_i` (suffixes
   `_i`/`_o`/`_in`/`_out`); fields named without prefix and suffix (`data`);
3. suffix only, for a design with one stream each way: NAME is `in` or `out`, the stream is
   `valid_i` (`valid_in`) / `valid_o` (`valid_out`), its ready the opposite direction's
   `ready_*`, its payload every other signal with the valid's suffix that is not the clock,
   the reset or part of a prefixed stream (`data_i` -> field `data`).

Anything else is bound explicitly: `valid=`, `ready=` (a name or None) and `data=` (signal
names, or a mapping field -> signal).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# direction suffix -> the direction it names
SUFFIXES = {"i": "in", "in": "in", "o": "out", "out": "out"}
OPPOSITE = {"in": "out", "out": "in"}
_VALID = re.compile(r"^(?:(?P<prefix>\w+?)_)?valid(?:_(?P<suffix>i|o|in|out))?$")


class _Find:
    def __repr__(self) -> str:
        return "FIND"


FIND = _Find()  # ready= left out: found by convention (None means "no ready")


class StreamNameError(LookupError):
    """No stream of that name by any convention (the message says what was looked for)."""


@dataclass(frozen=True)
class StreamNames:
    name: str
    valid: str
    ready: str | None  # None: valid-only
    fields: dict[str, str] = field(default_factory=dict)  # field name -> signal name

    def signals(self) -> list[str]:
        return [self.valid, *([self.ready] if self.ready else []), *self.fields.values()]

    def as_spec(self) -> dict:
        """The block.yaml form: {valid:, ready:, data: [signals]} (fields named by convention)."""
        return {"valid": self.valid, "ready": self.ready, "data": list(self.fields.values())}


def strip_suffix(name: str) -> str:
    """`data_i` -> `data`; a name without a direction suffix is kept."""
    base, sep, suffix = name.rpartition("_")
    return base if sep and base and suffix in SUFFIXES else name


def field_name(signal: str, prefix: str = "") -> str:
    """A payload field's name: the signal without the stream's prefix and its direction suffix."""
    if prefix and signal.startswith(prefix + "_"):
        signal = signal[len(prefix) + 1 :]
    return strip_suffix(signal) or signal


def explicit(name: str, valid: str, ready: str | None, data: Iterable[str] | Mapping[str, str] = ()) -> StreamNames:
    """An explicitly bound stream; a list of data signals gets fields named by `field_name`."""
    if isinstance(data, Mapping):
        fields = {str(k): str(v) for k, v in data.items()}
    else:
        fields = {}
        for signal in data:
            key = field_name(signal, name)
            if key in fields:
                raise StreamNameError(
                    f"stream {name}: data signals {fields[key]} and {signal} would both be field {key!r}; "
                    "give data as a mapping field -> signal"
                )
            fields[key] = signal
    return StreamNames(name, valid, ready, fields)


def _prefixed_streams(signals: Iterable[str]) -> set[str]:
    """Prefixes that have a valid signal (`x_valid`, `x_valid_i`)."""
    found = set()
    for signal in signals:
        match = _VALID.match(signal)
        if match and match["prefix"]:
            found.add(match["prefix"])
    return found


def resolve(name: str, signals: Iterable[str], exclude: Iterable[str] = ()) -> StreamNames:
    """The stream `name` among `signals` by the conventions above; `exclude` (the clock, the
    reset) is never payload. Raises StreamNameError saying what it looked for."""
    signals = list(signals)
    present = set(signals)
    exclude = set(exclude)
    start = name + "_"
    # 1. prefix (today's binding, unchanged): NAME_valid, NAME_ready, every other NAME_*
    if f"{name}_valid" in present:
        valid = f"{name}_valid"
        ready = f"{name}_ready" if f"{name}_ready" in present else None
        fields = {
            s[len(start) :]: s for s in sorted(signals) if s.startswith(start) and s not in (valid, ready, *exclude)
        }
        return StreamNames(name, valid, ready, fields)
    # 2. prefix with a direction suffix: NAME_valid_i, NAME_ready_o, NAME_*_i
    for suffix in SUFFIXES:
        valid = f"{name}_valid_{suffix}"
        if valid in present:
            readies = [f"{name}_ready_{s}" for s in SUFFIXES if f"{name}_ready_{s}" in present]
            ready = readies[0] if readies else None
            fields = {}
            for s in sorted(signals):
                if s.startswith(start) and s not in (valid, ready, *exclude) and not s.startswith(f"{name}_ready"):
                    fields[field_name(s, name)] = s
            return StreamNames(name, valid, ready, fields)
    # 3. suffix only: `in` is valid_i / valid_in, `out` is valid_o / valid_out
    direction = SUFFIXES.get(name, name if name in OPPOSITE else None)
    if direction is not None:
        for suffix in [s for s, d in SUFFIXES.items() if d == direction]:
            valid = f"valid_{suffix}"
            if valid not in present:
                continue
            readies = [
                f"ready_{s}" for s, d in SUFFIXES.items() if d == OPPOSITE[direction] and f"ready_{s}" in present
            ]
            ready = readies[0] if readies else None
            owned = _prefixed_streams(signals)
            fields = {}
            for s in sorted(signals):
                if s in (valid, ready) or s in exclude or not s.endswith("_" + suffix):
                    continue
                if any(s.startswith(p + "_") for p in owned) or s.startswith(("valid_", "ready_")):
                    continue
                fields[strip_suffix(s)] = s
            return StreamNames(name, valid, ready, fields)
    looked = [f"{name}_valid", f"{name}_valid_i/_o/_in/_out"]
    if direction is not None:
        looked.append("valid_i/valid_in" if direction == "in" else "valid_o/valid_out")
    raise StreamNameError(
        f"no stream {name!r}: none of {', '.join(looked)} is a signal; bind it explicitly "
        "(valid=..., ready=... or None, data=[...]) or declare it under 'streams' in block.yaml"
    )


@dataclass(frozen=True)
class Found:
    """A stream found among a module's ports: its names and which way it goes."""

    names: StreamNames
    direction: str  # "in": the testbench drives it (a source); "out": the design does (a sink)


def discover(ports: Mapping[str, str], exclude: Iterable[str] = ()) -> list[Found]:
    """Every stream among `ports` (name -> "in" | "out"), by the conventions above, with the
    payload limited to ports of the valid's direction (which the conventions alone cannot see)."""
    exclude = set(exclude)
    found: list[Found] = []
    taken: set[str] = set()
    candidates = []
    for port in ports:
        match = _VALID.match(port)
        if match and port not in exclude:
            candidates.append((match["prefix"] or "", port))
    # prefixed streams first: the suffix-only stream's payload is what they leave
    for prefix, valid in sorted(candidates, key=lambda c: (c[0] == "", c[1])):
        direction = ports[valid]
        if prefix:
            name = prefix
        else:
            name = direction
            if any(f.names.name == name for f in found):
                continue  # valid_i and valid_in both: the first one is the stream
        try:
            names = resolve(name, [p for p in ports if p not in taken], exclude)
        except StreamNameError:
            continue
        if names.valid != valid:
            continue
        ready = names.ready if names.ready and ports.get(names.ready) == OPPOSITE[direction] else None
        fields = {k: s for k, s in names.fields.items() if ports.get(s) == direction}
        names = StreamNames(names.name, names.valid, ready, fields)
        taken.update(names.signals())
        found.append(Found(names, direction))
    return found
