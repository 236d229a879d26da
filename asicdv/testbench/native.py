"""The native engine of asicdv's Verilator main loop (asicdv/testbench/verilator_main.cpp), from Python.

Verilator builds link the main loop with `-rdynamic`, so the running simulator's own symbols
are reachable through ctypes. What the engine does every cycle costs no VPI callback and no
Python wake-up: a free-running clock, and valid/ready streams whose beats are played, recorded
and protocol-checked at each edge, with seeded pauses for back-pressure (asicdv.testbench.stream
uses it for every endpoint whose pauses are a PauseSchedule, or none).

`available()` is False on Icarus, or with ASICDV_NATIVE=0 (the pure-Python path, e.g. to
compare the two); callers then fall back to cocotb's GPI clock and the Python endpoints.
"""

from __future__ import annotations

import ctypes
import numbers
import os
from functools import cache

from cocotb.simtime import convert

VERSION = 2


@cache
def _lib() -> ctypes.CDLL | None:
    if os.environ.get("ASICDV_NATIVE", "1") == "0":
        return None
    lib = ctypes.CDLL(None)
    try:
        if lib.asicdv_native_version() != VERSION:
            return None
    except AttributeError:  # not asicdv's main loop (Icarus, or an old build)
        return None
    u64, c = ctypes.c_ulonglong, ctypes.c_char_p
    signatures = {
        "asicdv_clock_start": ([c, u64], ctypes.c_int),
        "asicdv_stream_open": ([c, c, c, ctypes.c_int, c], ctypes.c_int),
        "asicdv_stream_field_bytes": ([ctypes.c_int, ctypes.c_int], ctypes.c_int),
        "asicdv_stream_field_bits": ([ctypes.c_int, ctypes.c_int], ctypes.c_int),
        "asicdv_stream_play_fields": ([ctypes.c_int, u64, ctypes.c_void_p, ctypes.c_void_p], None),
        "asicdv_stream_pending": ([ctypes.c_int], u64),
        "asicdv_stream_recorded": ([ctypes.c_int], u64),
        "asicdv_stream_drain": ([ctypes.c_int, ctypes.c_void_p, u64], u64),
        "asicdv_stream_stalls": ([ctypes.c_int], u64),
        "asicdv_stream_set_pauses": ([ctypes.c_int, ctypes.c_int, u64, u64, ctypes.c_uint], None),
        "asicdv_stream_pauses_drawn": ([ctypes.c_int], u64),
        "asicdv_stream_sink_start": ([ctypes.c_int], None),
        "asicdv_stream_reseed_pauses": ([ctypes.c_int, u64], None),
        "asicdv_stream_violation": ([ctypes.c_int], c),
        "asicdv_stream_violation_payloads": ([ctypes.c_int, ctypes.c_void_p], None),
    }
    for name, (args, result) in signatures.items():
        function = getattr(lib, name)
        function.argtypes, function.restype = args, result
    return lib


def available() -> bool:
    return _lib() is not None


def _path(handle) -> bytes:
    return handle._path.encode()


def start_clock(clk, period_ns: float) -> bool:
    """Toggle `clk` from the main loop (high now); False when the engine is not there."""
    lib = _lib()
    if lib is None:
        return False
    half = convert(period_ns / 2, "ns", to="step")
    if lib.asicdv_clock_start(_path(clk), half) != 0:
        raise RuntimeError(f"the native clock could not bind {clk._path}")
    return True


class NativeStream:
    """One valid/ready (or valid-only) stream in the engine: `play` beats, `drain` recorded
    transfers, and the first protocol violation. Beats are dicts of field name -> int, as
    asicdv.testbench.stream uses."""

    def __init__(self, stream):
        lib = _lib()
        assert lib is not None, "native engine not available"
        self._lib = lib
        self.names = list(stream.fields)
        reset = _path(stream.reset) if stream.reset is not None else b""
        fields = b"\n".join(_path(stream.fields[name]) for name in self.names)
        ready = _path(stream.ready) if stream.ready is not None else b""  # "": valid-only
        self.id = lib.asicdv_stream_open(_path(stream.valid), ready, reset, stream.reset_active, fields)
        if self.id < 0:
            raise RuntimeError(f"the native engine could not bind stream {stream.name}")
        self.widths = [lib.asicdv_stream_field_bytes(self.id, i) for i in range(len(self.names))]
        self.bits = [lib.asicdv_stream_field_bits(self.id, i) for i in range(len(self.names))]
        self.beat_bytes = sum(self.widths)
        self._last = {name: 0 for name in self.names}
        self._constants: dict[tuple, tuple] = {}  # (field, value) -> (its bytes, their address, stride 0)

    def set_checking(self, on: bool) -> None:
        self._lib.asicdv_stream_set_checking(self.id, int(on))

    def set_recording(self, on: bool) -> None:
        self._lib.asicdv_stream_set_recording(self.id, int(on))

    def set_pauses(self, schedule, sink: bool) -> None:
        """Pause as `schedule` (an asicdv.testbench.stream.PauseSchedule) would, from its current
        state: a source idles before beats, a sink (`sink`) holds ready low; the engine draws."""
        self._lib.asicdv_stream_set_pauses(self.id, int(sink), schedule.state, schedule.threshold, schedule.longest)

    def start_sink(self) -> None:
        """A pausing sink's task starts (just after an edge, as the Python sink's): the first pause is drawn."""
        self._lib.asicdv_stream_sink_start(self.id)

    def reseed_pauses(self, state: int) -> None:
        """The schedule's new state (PauseSchedule.reseed); a sink waiting for valid draws again."""
        self._lib.asicdv_stream_reseed_pauses(self.id, state)

    def pauses_drawn(self) -> int:
        return self._lib.asicdv_stream_pauses_drawn(self.id)

    def play(self, beats: list[dict[str, int]]) -> None:
        """Queue beats (field name -> int); a field a beat leaves out keeps its last value."""
        unknown = set().union(*beats) - self._last.keys()
        if unknown:
            raise KeyError(f"no payload field {', '.join(sorted(unknown))} on this stream")
        fields = []
        for name, width, bits in zip(self.names, self.widths, self.bits, strict=True):
            value, limit, rows = self._last[name], 1 << bits, []
            for beat in beats:
                value = beat.get(name, value)
                if not 0 <= value < limit:
                    raise ValueError(f"{value:#x} does not fit field {name} ({bits} bits)")
                rows.append(value.to_bytes(width, "little"))
            self._last[name] = value
            data = b"".join(rows)
            fields.append((data, ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value, width))
        self._play(len(beats), fields)

    def play_columns(self, count: int, columns: dict) -> None:
        """`count` beats given field by field (see asicdv.testbench.stream.StreamSource.send_columns_nowait):
        one numpy array or one constant per field instead of a Python loop per beat."""
        import numpy as np  # only for column-wise beats (start-up: see asicdv.testbench.uvm)

        fields = []  # (what keeps the bytes alive, their address, stride; 0 = the same every beat)
        for name, width, bits in zip(self.names, self.widths, self.bits, strict=True):
            column = columns.get(name, self._last[name])
            if type(column) is int or isinstance(column, numbers.Integral):
                column = int(column)
                constant = self._constants.get((name, column))
                if constant is None:  # the same few parameter sets come tile after tile
                    if not 0 <= column < 1 << bits:
                        raise ValueError(f"{column:#x} does not fit field {name} ({bits} bits)")
                    if len(self._constants) > 4096:
                        self._constants.clear()
                    data = ctypes.create_string_buffer(column.to_bytes(width, "little"), width)
                    constant = self._constants[name, column] = (data, ctypes.addressof(data), 0)
                fields.append(constant)
                self._last[name] = column
            else:
                raw = column_bytes(column, count, bits, name)
                if raw.shape[1] < width:  # storage wider than the field (e.g. 48 bits in 8 bytes)
                    raw = np.concatenate([raw, np.zeros((count, width - raw.shape[1]), dtype=np.uint8)], axis=1)
                raw = np.ascontiguousarray(raw)
                fields.append((raw, raw.__array_interface__["data"][0], raw.strides[0]))  # (.ctypes is slow)
                self._last[name] = int.from_bytes(raw[-1].tobytes(), "little")
        self._play(count, fields)

    def _play(self, count: int, fields: list[tuple]) -> None:
        if count:
            n = len(fields)
            pointers = (ctypes.c_void_p * n)(*(address for _, address, _ in fields))
            strides = (ctypes.c_ulonglong * n)(*(stride for _, _, stride in fields))
            self._lib.asicdv_stream_play_fields(self.id, count, pointers, strides)

    def pending(self) -> int:
        return self._lib.asicdv_stream_pending(self.id)

    def clear(self) -> None:
        self._lib.asicdv_stream_clear(self.id)

    def drain(self) -> list[dict[str, int]]:
        count = self._lib.asicdv_stream_recorded(self.id)
        if not count:
            return []
        buffer = ctypes.create_string_buffer(count * self.beat_bytes)
        count = self._lib.asicdv_stream_drain(self.id, buffer, count)
        return self._beats(buffer.raw, count)

    def _beats(self, raw: bytes, count: int) -> list[dict[str, int]]:
        beats, offset = [], 0
        for _ in range(count):
            beat = {}
            for name, width in zip(self.names, self.widths, strict=True):
                beat[name] = int.from_bytes(raw[offset : offset + width], "little")
                offset += width
            beats.append(beat)
        return beats

    def stalls(self) -> int:
        return self._lib.asicdv_stream_stalls(self.id)

    def violation(self) -> str:
        return self._lib.asicdv_stream_violation(self.id).decode()

    def violation_payloads(self) -> tuple[dict[str, int], dict[str, int]]:
        """The payload that waited and the one at the violation's edge."""
        buffer = ctypes.create_string_buffer(2 * self.beat_bytes)
        self._lib.asicdv_stream_violation_payloads(self.id, buffer)
        held, seen = self._beats(buffer.raw, 2)
        return held, seen


def column_bytes(column, count: int, bits: int, name: str):
    """A field's values for `count` beats as little-endian bytes, shape (count, bytes): from an
    array of ints (fields up to 64 bits) or of byte rows (any width). Refuses values too wide."""
    import numpy as np

    if (
        isinstance(column, np.ndarray)
        and column.dtype == np.uint8
        and column.ndim == 2
        and column.shape == (count, (bits + 7) // 8)
        and (bits % 8 == 0 or not np.any(column[:, -1] >> (bits % 8)))
    ):
        return column  # byte rows of the field's exact width: nothing to convert
    array = np.asarray(column)
    if array.ndim == 1:
        if bits > 64:
            raise ValueError(f"field {name} is {bits} bits: give its values as byte rows")
        array = array.astype("<u8").view(np.uint8).reshape(-1, 8)
    if array.shape[0] != count:
        raise ValueError(f"field {name}: {array.shape[0]} values for {count} beats")
    array = np.ascontiguousarray(array, dtype=np.uint8)
    nbytes = (bits + 7) // 8
    if np.any(array[:, nbytes:]) or (bits % 8 and np.any(array[:, nbytes - 1] >> (bits % 8))):
        raise ValueError(f"a value of field {name} does not fit its {bits} bits")
    return array[:, :nbytes]
