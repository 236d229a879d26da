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

VERSION = 3


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
        "asicdv_stream_recorded_address": ([ctypes.c_int], ctypes.c_void_p),
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
        self._layout = list(zip(self.names, self.widths, [1 << b for b in self.bits], strict=True))
        self._offsets = [sum(self.widths[:i]) for i in range(len(self.widths))]
        self._rows = self._row_buffer(16)  # beats packed field after field, copied in by play
        # The engine's count of recorded beats, read in place: most drains find none, and a call costs microseconds.
        self._recorded = ctypes.c_size_t.from_address(lib.asicdv_stream_recorded_address(self.id))
        self._drain_capacity = max(1, 4096 // self.beat_bytes) if self.beat_bytes else 4096  # beats a drain call takes
        self._drained = ctypes.create_string_buffer(max(1, self._drain_capacity * self.beat_bytes))

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
        if not beats:
            return
        known, values, rows = self._last.keys(), list(self._last.values()), []
        for beat in beats:
            if not beat.keys() <= known:
                raise KeyError(f"no payload field {', '.join(sorted(beat.keys() - known))} on this stream")
            for i, (name, width, limit) in enumerate(self._layout):
                value = beat.get(name, values[i])
                if not 0 <= value < limit:
                    raise ValueError(f"{value:#x} does not fit field {name} ({limit.bit_length() - 1} bits)")
                values[i] = value
                rows.append(value.to_bytes(width, "little"))
        self._last = dict(zip(self.names, values, strict=True))
        data = b"".join(rows)
        if len(data) > len(self._rows[0]):
            self._rows = self._row_buffer(len(beats))
        buffer, pointers, strides = self._rows
        ctypes.memmove(buffer, data, len(data))
        self._lib.asicdv_stream_play_fields(self.id, len(beats), pointers, strides)

    def _row_buffer(self, beats: int) -> tuple:
        """A buffer for `beats` packed beats, with each field's address in it and the stride (a beat)."""
        buffer = ctypes.create_string_buffer(max(beats * self.beat_bytes, 1))
        base = ctypes.addressof(buffer)
        n = len(self.names)
        pointers = (ctypes.c_void_p * n)(*(base + offset for offset in self._offsets))
        strides = (ctypes.c_ulonglong * n)(*([self.beat_bytes] * n))
        return buffer, pointers, strides

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
        if not self._recorded.value:
            return []
        beats: list[dict[str, int]] = []
        while True:  # one call per buffer-full: no count asked first
            count = self._lib.asicdv_stream_drain(self.id, self._drained, self._drain_capacity)
            if count:
                beats += self._beats(ctypes.string_at(self._drained, count * self.beat_bytes), count)
            if count < self._drain_capacity:
                return beats

    def _beats(self, raw: bytes, count: int) -> list[dict[str, int]]:
        size = self.beat_bytes
        if not size:  # a stream with no payload (valid and ready alone)
            return [{} for _ in range(count)]
        if len(self.names) == 1:
            (name,) = self.names
            return [{name: int.from_bytes(raw[i : i + size], "little")} for i in range(0, count * size, size)]
        fields = list(zip(self.names, self._offsets, self.widths, strict=True))
        return [
            {name: int.from_bytes(raw[row + offset : row + offset + width], "little") for name, offset, width in fields}
            for row in range(0, count * size, size)
        ]

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
