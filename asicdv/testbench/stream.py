"""Valid/ready streams, driven and sampled without waking Python every cycle.

Convention: the testbench writes signals only just after a rising clock edge,
and the DUT's outputs change only at rising edges. A transfer happens at a
rising edge where valid and ready were both high. We look at settled values
(ReadOnly) and otherwise sleep until valid or ready changes, so an idle or
busy DUT costs no Python wake-ups per cycle.

A stream is bound by its signal prefix, as cocotbext-axi does: `Stream.from_prefix(dut, "res")`
takes `res_valid`, `res_ready` and every other `res_*` signal as a payload field (named
without the prefix). `Stream.bind` also takes direction suffixes (`valid_i`/`ready_o`/`data_i`),
valid-only streams (no ready: every edge with valid high moves a beat) and explicit names
(`valid="valid_o", ready=None, data=["y_o"]`); see asicdv.testbench.stream_names. On top of it:
`StreamSource` (send), `StreamSink` (recv, seeded pauses on ready) and `StreamMonitor`
(passive); all three check the valid/ready rules (`ProtocolChecker`) on the interface they are
bound to.

On Verilator the endpoints run natively (asicdv.testbench.native): the simulator's main loop plays
a source's queued beats, drives a sink's ready and records its transfers, and checks the
valid/ready rules at every edge, so a burst of beats costs Python one wake-up, not three per
beat. Seeded pauses (back-pressure tests) run there too when they are a `PauseSchedule`: the
engine draws from the same generator with the same rules, so a seed gives the same cycles
natively and in Python. Endpoints with any other pause iterator, and every endpoint on Icarus or
with ASICDV_NATIVE=0, are driven from Python as described above.
"""

from __future__ import annotations

import itertools
import numbers
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cocotb
from cocotb.triggers import Event, First, ReadOnly, RisingEdge, Timer, ValueChange

from asicdv.testbench import clocking, native, stream_names
from asicdv.testbench.functional_coverage import CoverPoint
from asicdv.testbench.scoreboard import Scoreboard, to_hex

Pauses = Iterator[int]
Beat = dict[str, int]


def no_pauses() -> Pauses:
    return itertools.repeat(0)


MASK64 = (1 << 64) - 1


class PauseSchedule:
    """Seeded pauses before each beat: 0 with 1-probability, else 1..longest, uniform. An iterator
    (the Python endpoints draw from it); the native engine runs the same generator (splitmix64,
    PauseSchedule in verilator_main.cpp) from `state`, so a seed gives the same pauses either way.
    A source idles that many cycles before the beat; a sink holds ready low until valid comes and
    that many cycles in all. One schedule per endpoint: the engine copies its state."""

    def __init__(self, seed: int, probability: float = 0.3, longest: int = 4):
        if not 0 <= probability <= 1:
            raise ValueError(f"a pause probability is between 0 and 1, not {probability}")
        if longest < 1:
            raise ValueError(f"the longest pause is at least 1 cycle, not {longest}")
        self.seed = self.state = seed & MASK64
        self.threshold = round(probability * (1 << 32))  # a pause when the draw's high word is below it
        self.longest = longest
        self.bound = False  # taken by an endpoint

    def reseed(self, salt: int) -> None:
        """Start again from the seed mixed with `salt` (a hypothesis example's: replaying an
        example replays its pauses)."""
        self.state = (self.seed ^ salt) & MASK64

    def __iter__(self) -> PauseSchedule:
        return self

    def __next__(self) -> int:
        self.state = z = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        if z >> 32 >= self.threshold:
            return 0
        return 1 + (((z & 0xFFFFFFFF) * self.longest) >> 32)


async def idle_cycles(clk, period_ns: float, cycles: int) -> None:
    """Let `cycles` clock periods pass with a single wake-up, ending just after an edge."""
    if cycles > 0:
        await Timer(period_ns * (cycles - 1) + period_ns / 2, "ns")
        await RisingEdge(clk)


def columns_to_beats(count: int, columns: dict, bits: dict[str, int]) -> list[Beat]:
    """Field-by-field beats (StreamSource.send_columns_nowait) as one dict per beat."""
    per_field = {}
    for name, column in columns.items():
        if isinstance(column, numbers.Integral):
            per_field[name] = [int(column)] * count
        else:
            raw = native.column_bytes(column, count, bits[name], name)
            per_field[name] = [int.from_bytes(row.tobytes(), "little") for row in raw]
    return [{name: values[i] for name, values in per_field.items()} for i in range(count)]


def is_high(handle) -> bool:
    """A 1-bit signal is 1, as `handle.value == 1` (X and Z are not) without building a cocotb
    Logic and comparing it: valid and ready are read several times per beat."""
    return handle._handle.get_signal_val_binstr() == "1"


@dataclass(frozen=True)
class Stream:
    """The signals of one valid/ready interface: `fields` maps a payload name to its handle."""

    name: str
    clk: object
    valid: object
    ready: object  # None: a valid-only stream (every edge with valid high is a transfer)
    fields: dict
    reset: object = None  # the DUT's reset: no transfer happens while it is asserted
    reset_active: int = 1

    @classmethod
    def from_prefix(cls, dut, prefix: str, clk=None, reset=None, reset_active: int = 1) -> Stream:
        """`<prefix>_valid`, `<prefix>_ready` and every other `<prefix>_*` top-level signal."""
        start = prefix + "_"
        handles = {h._name[len(start) :]: h for h in dut if h._name.startswith(start)}
        missing = [s for s in ("valid", "ready") if s not in handles]
        if missing:
            raise AttributeError(
                f"{dut._name} has no {', '.join(start + s for s in missing)}: not a valid/ready stream"
            )
        valid, ready = handles.pop("valid"), handles.pop("ready")
        fields = dict(sorted(handles.items()))
        return cls(prefix, clk if clk is not None else dut.clk, valid, ready, fields, reset, reset_active)

    @classmethod
    def bind(
        cls,
        dut,
        name: str,
        *,
        valid: str | None = None,
        ready=stream_names.FIND,
        data=(),
        clk=None,
        reset=None,
        reset_active: int = 1,
        exclude=(),
    ) -> Stream:
        """The stream `name` of `dut`: found by the naming conventions (prefix `name_valid`, prefix
        with direction suffixes, or `valid_i`/`valid_o` for `in`/`out`; asicdv.testbench.stream_names)
        or, given `valid`, bound explicitly: `ready` a signal name or None (valid-only), `data` the
        payload signals (a list, fields named without prefix and direction suffix, or a mapping
        field -> signal). `exclude`: signals never payload (the clock, the reset)."""
        handles = {h._name: h for h in dut}
        if valid is None:
            if ready is not stream_names.FIND or data:
                raise TypeError(f"stream {name}: ready= and data= bind explicitly, with valid= as well")
            try:
                names = stream_names.resolve(name, handles, exclude)
            except stream_names.StreamNameError as exc:
                raise AttributeError(f"{dut._name}: {exc}") from None
        else:
            if ready is stream_names.FIND:
                raise TypeError(f"stream {name}: with valid= give ready= too (a signal name, or None for valid-only)")
            names = stream_names.explicit(name, valid, ready, data)
        missing = [s for s in names.signals() if s not in handles]
        if missing:
            raise AttributeError(f"{dut._name} has no signal {', '.join(missing)} (stream {name})")
        return cls(
            name,
            clk if clk is not None else getattr(dut, clocking.clock_name()),  # block.yaml's clock
            handles[names.valid],
            handles[names.ready] if names.ready else None,
            {field: handles[signal] for field, signal in names.fields.items()},
            reset,
            reset_active,
        )

    def moves(self) -> bool:
        """Valid and ready are both high (settled values): a beat moves at the next edge."""
        return is_high(self.valid) and (self.ready is None or is_high(self.ready))

    def handshake_changed(self):
        """A trigger on the next change of valid or ready (valid alone for a valid-only stream)."""
        if self.ready is None:
            return ValueChange(self.valid)
        return First(ValueChange(self.valid), ValueChange(self.ready))

    def sample(self) -> Beat:
        return {name: int(handle.value) for name, handle in self.fields.items()}

    async def valid_seen(self) -> None:
        """Wait until valid is high (settled); returns just after the next edge."""
        await ReadOnly()
        while self.valid.value != 1:
            await ValueChange(self.valid)
            await ReadOnly()
        await RisingEdge(self.clk)

    async def transfer(self) -> Beat:
        """Wait for the next rising edge at which valid and ready are both high; return the payload
        that moved (sampled on the settled values just before that edge). Returns after the edge."""
        while True:
            await ReadOnly()
            if self.reset is not None and self.reset.value == self.reset_active:
                await RisingEdge(self.clk)  # in reset: a valid/ready pair is not a transfer
                continue
            if self.moves():
                beat = self.sample()
                await RisingEdge(self.clk)
                return beat
            await self.handshake_changed()


async def engine_event(s: Stream) -> None:
    """Sleep until a natively run stream may have moved a beat: the next edge while valid and
    ready are both high, else the next change of ready while valid waits (only ready rising lets
    it move; the engine records any beat meanwhile), else the next change of valid. One trigger
    each: First() of two costs a task per trigger."""
    if s.moves():
        await RisingEdge(s.clk)
    elif is_high(s.valid):
        await ValueChange(s.ready)
    else:
        await ValueChange(s.valid)


class ProtocolChecker:
    """Passive valid/ready rule checker on one stream; a violation is an error of `board`.

    Rules: valid and ready are 0 or 1 (no X/Z) once reset is over; once valid is high it
    stays high, with the payload stable, until the edge where ready is high too (a valid-only
    stream has no ready: only the first rule applies, and it never stalls). Costs one
    wake-up per stall, not per cycle: while stalled it sleeps until valid, ready or a payload
    field changes, and any change of valid or payload before the transfer is a violation.
    With an `engine` (a native endpoint's) the simulator checks the same rules at every rising
    edge instead, and `poll()` brings its stalls and first violation in before the board is read.
    """

    def __init__(self, stream: Stream, can_stall: bool = True, engine: native.NativeStream | None = None):
        self.stream = stream
        self.engine = engine  # checks at every rising edge in the simulator instead
        self.board = Scoreboard(f"{stream.name} valid/ready protocol")
        self._task = None
        self._stalls = 0  # stall episodes seen (valid high while ready low)
        # A stream that can stall has a coverage bin for it: valid waited for ready at least once.
        self._sample_stall = (
            CoverPoint(f"streams.{stream.name}.stalled", bins=[True], bins_labels=["valid waited for ready"])(
                lambda _: None
            )
            if can_stall and stream.ready is not None
            else lambda _: None
        )

    def start(self) -> None:
        """After a reset (the BFM calls it): values before reset are not checked."""
        if self.engine is not None:
            self.engine.set_checking(True)
        elif self._task is None or self._task.done():
            self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        """Before a reset: sources drop valid on purpose."""
        if self.engine is not None:
            self.poll()
            self.engine.set_checking(False)
        elif self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def stalls(self) -> int:
        """Stall episodes so far (valid high while ready low), the engine's brought in."""
        self.poll()
        return self._stalls

    def poll(self) -> None:
        """Bring in what the native checker saw (its stalls and first violation) before the
        board is read; nothing to do for the Python checker."""
        if self.engine is None:
            return
        for _ in range(self.engine.stalls() - self._stalls):
            self._stalls += 1
            self._sample_stall(True)
        violation = self.engine.violation()
        if violation:
            self._violation(self._describe(violation, *self.engine.violation_payloads()))
            self.engine.set_checking(True)  # reported once; checking goes on

    def _describe(self, violation: str, held: Beat, now: Beat) -> str:
        """A violation as the Python checker words it, with the payloads."""
        s = self.stream
        if violation.startswith("valid dropped"):
            return f"{s.valid._name} dropped before the transfer (payload {to_hex(held)})"
        changed = [name for name in held if held[name] != now[name]]
        before, after = to_hex({k: held[k] for k in changed}), to_hex({k: now[k] for k in changed})
        return f"{s.name} payload changed while stalled: {before} -> {after}"

    def _violation(self, text: str) -> None:
        self.board.error(text)

    async def _run(self) -> None:
        s = self.stream
        if s.ready is None:
            return await self._run_valid_only()
        while True:
            await ReadOnly()
            for signal in (s.valid, s.ready):
                if not signal.value.is_resolvable:
                    return self._violation(f"{signal._name} is {signal.value} (X/Z) after reset")
            if s.valid.value == 1 and s.ready.value == 1:
                await RisingEdge(s.clk)  # a transfer
                continue
            if s.valid.value != 1:
                await First(ValueChange(s.valid), ValueChange(s.ready))
                continue
            held = s.sample()  # stalled: valid high, ready low
            self._stalls += 1
            self._sample_stall(True)
            await First(ValueChange(s.valid), ValueChange(s.ready), *(ValueChange(f) for f in s.fields.values()))
            await ReadOnly()
            if s.valid.value != 1:
                return self._violation(self._describe("valid dropped", held, held))
            now = s.sample()
            if now != held:
                return self._violation(self._describe("payload changed", held, now))
            await RisingEdge(s.clk)  # ready rose: the transfer

    async def _run_valid_only(self) -> None:
        """No ready: valid must be 0 or 1 after reset; one wake-up per change of valid."""
        s = self.stream
        while True:
            await ReadOnly()
            if not s.valid.value.is_resolvable:
                return self._violation(f"{s.valid._name} is {s.valid.value} (X/Z) after reset")
            await ValueChange(s.valid)


class _Endpoint:
    """What a source and a sink share: the stream, its protocol checker, seeded pauses, a queue of
    beats and the task running `_run`."""

    def __init__(self, stream: Stream, period_ns: float, pauses: Pauses | None = None, can_stall: bool = True):
        self.stream = stream
        self.period_ns = period_ns
        self.pauses = pauses or no_pauses()
        if isinstance(pauses, PauseSchedule):
            if pauses.bound:
                raise ValueError(f"stream {stream.name}: a PauseSchedule paces one endpoint (give each its own)")
            pauses.bound = True
        # No pauses, or a PauseSchedule: the simulator's main loop runs this endpoint (asicdv.testbench.native).
        self.engine = None
        if native.available() and (pauses is None or isinstance(pauses, PauseSchedule)):
            self.engine = native.NativeStream(stream)
            if pauses is not None:
                self.engine.set_pauses(pauses, sink=isinstance(self, StreamSink))
        self.native_pauses = self.engine is not None and pauses is not None  # the engine drives the pauses
        self.checker = ProtocolChecker(stream, can_stall, self.engine)  # the same engine stream checks
        self._queue: deque[Beat] = deque()
        self._task = cocotb.start_soon(self._run())

    def pauses_reseeded(self) -> None:
        """After `reseed` of this endpoint's PauseSchedule: the engine takes the new state; a sink
        waiting for valid draws its pending pause again (natively or here)."""
        if self.native_pauses:
            self.engine.reseed_pauses(self.pauses.state)

    def _restart(self) -> None:
        self._task.cancel()
        self._queue.clear()
        if self.engine is not None:
            self.engine.clear()
        self._task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        raise NotImplementedError


class StreamSource(_Endpoint):
    """Drives valid + payload; `send` returns once the beat is transferred."""

    def __init__(self, stream: Stream, period_ns: float, pauses: Pauses | None = None, can_stall: bool = True):
        self._wakeup = Event()
        self._idle = Event()
        self._idle.set()
        self.played = Event()  # set whenever beats are queued to the engine (a monitor of the stream waits on it)
        stream.valid.value = 0
        super().__init__(stream, period_ns, pauses, can_stall)

    def send_nowait(self, beat: Beat) -> None:
        self.send_all_nowait([beat])

    def send_all_nowait(self, beats: list[Beat]) -> None:
        """Queue beats (one call into the native engine); a field a beat leaves out keeps its value."""
        if not beats:
            return
        if self.engine is not None:
            self.engine.play(beats)  # wait_idle asks the engine: no task to wake
            self.played.set()
            return
        self._queue.extend(beats)
        self._idle.clear()
        self._wakeup.set()

    def send_columns_nowait(self, count: int, columns: dict) -> None:
        """Queue `count` beats given field by field: a field maps to an int (every beat), an array
        of `count` ints (fields up to 64 bits) or a `count` x bytes array of little-endian byte
        rows (any width); a field left out keeps its value. Natively one copy per field; the
        Python endpoint gets the same beats one by one."""
        if count == 0:
            return
        if self.engine is None:
            bits = {name: len(handle) for name, handle in self.stream.fields.items()}
            return self.send_all_nowait(columns_to_beats(count, columns, bits))
        self.engine.play_columns(count, columns)
        self.played.set()

    async def send(self, beat: Beat) -> None:
        self.send_nowait(beat)
        await self.wait_idle()

    async def wait_idle(self) -> None:
        """Until every queued beat has moved (natively: valid drops after the last one)."""
        if self.engine is None:
            return await self._idle.wait()
        while self.engine.pending():
            await ValueChange(self.stream.valid)

    def clear(self) -> None:
        """Drop queued and in-flight beats (e.g. on reset) and deassert valid."""
        self.stream.valid.value = 0
        self._idle.set()
        self._restart()

    async def _run(self) -> None:
        if self.engine is not None:
            return  # the engine drives the beats (at falling edges, after any pause), valid drops after the last one
        s = self.stream
        while True:
            if not self._queue:
                s.valid.value = 0
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                await RisingEdge(s.clk)  # writes happen just after an edge
            pause = next(self.pauses)
            if pause:
                s.valid.value = 0
                await idle_cycles(s.clk, self.period_ns, pause)
            for name, value in self._queue[0].items():
                s.fields[name].value = value
            s.valid.value = 1
            await s.transfer()
            if self._queue:
                self._queue.popleft()


class StreamSink(_Endpoint):
    """Holds ready (with optional seeded pauses) and collects transferred beats."""

    def __init__(self, stream: Stream, period_ns: float, pauses: Pauses | None = None):
        self._arrived = Event()
        self._redrawable = False  # a Python sink waiting for valid since it drew its pause
        if stream.ready is None:  # valid-only: nothing to hold back, every beat is taken
            pauses = None
        else:
            stream.ready.value = 0
        super().__init__(stream, period_ns, pauses)

    def _collect(self) -> None:
        if self.engine is not None and not self._queue:  # drained beats first: one call per batch
            self._queue.extend(self.engine.drain())

    def recv_nowait(self) -> Beat | None:
        self._collect()
        return self._queue.popleft() if self._queue else None

    async def recv(self) -> Beat:
        self._collect()
        while not self._queue:
            if self.engine is not None:
                await engine_event(self.stream)
                self._collect()
            else:
                self._arrived.clear()
                await self._arrived.wait()
        return self._queue.popleft()

    def empty(self) -> bool:
        self._collect()
        return not self._queue

    def clear(self) -> None:
        """Drop received beats and restart (e.g. after a reset)."""
        self._redrawable = False
        self._restart()

    def pauses_reseeded(self) -> None:
        super().pauses_reseeded()
        if self.engine is None and self._redrawable:
            self._task.cancel()
            self._task = cocotb.start_soon(self._serve())

    async def _run(self) -> None:
        s = self.stream
        await RisingEdge(s.clk)
        if self.engine is not None:  # the engine records every transfer (and drives a pausing ready)
            self.engine.set_recording(True)
            if self.native_pauses:
                self.engine.start_sink()  # its first pause, drawn at this edge as below
            elif s.ready is not None:
                s.ready.value = 1
            return
        while s.ready is None:  # valid-only: every beat is taken
            self._queue.append(await s.transfer())
            self._arrived.set()
        await self._serve()

    async def _serve(self) -> None:
        s = self.stream
        while True:
            self._redrawable = True
            pause = next(self.pauses)
            if pause:  # back-pressure: ready low until valid comes, then `pause` cycles more
                s.ready.value = 0
                await s.valid_seen()
                self._redrawable = False
                await idle_cycles(s.clk, self.period_ns, pause - 1)
                self._redrawable = True
            s.ready.value = 1
            self._queue.append(await s.transfer())
            self._arrived.set()


class StreamMonitor:
    """Passive: calls every subscriber with each beat that moves on the stream.

    `source`: the native StreamSource driving this stream in the same BFM, if any. No beat moves
    while it holds none, so the monitor sleeps until beats are queued to it (no wake-up on valid
    rising, nor on ready while valid only waits to drop), then wakes at the edges that can move
    them. Code that drives the stream's valid itself, around the source, needs a monitor without it.
    """

    def __init__(self, stream: Stream, source: StreamSource | None = None):
        self.stream = stream
        self.subscribers: list[Callable[[Beat], None]] = []
        self.engine = native.NativeStream(stream) if native.available() else None
        self.source = source if self.engine is not None and source is not None and source.engine is not None else None
        cocotb.start_soon(self._run_native() if self.engine is not None else self._run())

    async def _run(self) -> None:
        while True:
            beat = await self.stream.transfer()
            for subscriber in self.subscribers:
                subscriber(beat)

    async def _run_native(self) -> None:
        """The engine records transfers; deliver them after the edge they happened on."""
        self.engine.set_recording(True)
        while True:
            await (engine_event(self.stream) if self.source is None else self._sourced_event())
            for beat in self.engine.drain():
                for subscriber in self.subscribers:
                    subscriber(beat)

    async def _sourced_event(self) -> None:
        """Until the source holds beats, then the next edge that can move one: any edge while
        ready is high (valid rises at the falling edge before it), else ready's next change."""
        source, s = self.source, self.stream
        source.played.clear()
        if not source.engine.pending():
            await source.played.wait()
            return
        if s.ready is None or is_high(s.ready):
            await RisingEdge(s.clk)
        else:
            await ValueChange(s.ready)
