"""Base of every block's BFM: the clock, the declared reset, the streams it owns,
seeded pauses for back-pressure, and the protocol checkers of its streams."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable

from cocotb.triggers import ReadOnly, RisingEdge, SimTimeoutError, with_timeout

from asicdv.testbench import clocking
from asicdv.testbench.scoreboard import Scoreboard
from asicdv.testbench.stream import Pauses, PauseSchedule, Stream, StreamMonitor, StreamSink, StreamSource
from asicdv.testbench.stream_names import FIND


def declared_streams() -> dict[str, dict]:
    """The block's `streams` (block.yaml): name -> {valid, ready, data}, handed over as ASICDV_STREAMS."""
    text = os.environ.get("ASICDV_STREAMS")
    return json.loads(text) if text else {}


class Bfm:
    """Starts the DUT's clock and binds streams: as block.yaml's `streams` declares them, else by
    naming convention (`x_valid`/`x_ready`/`x_*`, direction suffixes, valid-only; see
    asicdv.testbench.stream_names), or explicitly (`add_sink("out", valid="valid_o", ready=None,
    data=["y_o"])`). `reset()` drops what the sources still hold, applies the block's declared
    reset (name, polarity, cycles from block.yaml), empties the sinks and tells the listeners
    (e.g. a monitor forgetting half-seen transactions). `stalls=True` makes `pauses()` random
    (seeded by `rng`)."""

    def __init__(self, dut, rng: random.Random | None = None, stalls: bool = False):
        self.dut = dut
        self.rng = rng or random.Random(0)
        self.stalls = stalls
        self.period_ns = clocking.PERIOD_NS
        self.clk = getattr(dut, clocking.clock_name())
        self.reset_spec = clocking.ResetSpec.from_env()
        clocking.start_clock(self.clk, self.period_ns)
        self.sources: list[StreamSource] = []
        self.sinks: list[StreamSink] = []
        self.reset_listeners: list[Callable[[], None]] = []
        self.schedules: list[PauseSchedule] = []  # every pauses() schedule, reseeded per example

    async def within(self, awaitable, cycles: int, what: str):
        """Await `awaitable` for at most `cycles` clock cycles: a broken DUT fails fast with
        "<what> did not happen within N cycles" instead of running until the wall-clock timeout."""
        try:
            return await with_timeout(awaitable, self.period_ns * cycles, "ns")
        except SimTimeoutError:
            raise AssertionError(
                f"{what} did not happen within {cycles} cycles (the transaction's cycle budget)"
            ) from None

    def pauses(self, probability: float = 0.3, longest: int = 4) -> PauseSchedule | None:
        """Pauses before each beat when the test asked for stalls (a pause of 1..longest cycles with
        `probability`), else None. Each call is one endpoint's own schedule, seeded from `rng`
        here, so the pauses do not depend on what else draws from `rng` or when; natively the
        simulator draws them (asicdv.testbench.stream.PauseSchedule)."""
        if not self.stalls:
            return None
        schedule = PauseSchedule(self.rng.getrandbits(64), probability, longest)
        self.schedules.append(schedule)
        return schedule

    def reseed_pauses(self, salt: int) -> None:
        """Every pauses() schedule starts again from its seed and `salt` (BlockTest.check_property:
        each example's own, so an example replayed while shrinking gets the same pauses)."""
        for schedule in self.schedules:
            schedule.reseed(salt)
        for endpoint in (*self.sources, *self.sinks):
            if endpoint.pauses in self.schedules:
                endpoint.pauses_reseeded()

    def stream(self, name: str, *, valid: str | None = None, ready=FIND, data=()) -> Stream:
        """The stream `name`: explicit when `valid` (and `ready`, a name or None) are given, else
        as block.yaml declares it, else by naming convention (asicdv.testbench.stream_names)."""
        reset = getattr(self.dut, self.reset_spec.name)
        declared = declared_streams().get(name) if valid is None else None
        if declared is not None:
            valid, ready, data = declared["valid"], declared.get("ready"), declared.get("data", ())
        return Stream.bind(
            self.dut,
            name,
            valid=valid,
            ready=ready,
            data=data,
            clk=self.clk,
            reset=reset,
            reset_active=int(self.reset_spec.active_high),
            exclude=(self.clk._name, reset._name),
        )

    def add_source(
        self, name: str, pauses: Pauses | None = None, can_stall: bool = True, *, valid=None, ready=FIND, data=()
    ) -> StreamSource:
        """`can_stall=False` for an input whose ready is constant 1 (no "stalled" coverage bin);
        `valid=`, `ready=`, `data=` bind it explicitly (see `stream`)."""
        source = StreamSource(self.stream(name, valid=valid, ready=ready, data=data), self.period_ns, pauses, can_stall)
        self.sources.append(source)
        return source

    def add_sink(self, name: str, pauses: Pauses | None = None, *, valid=None, ready=FIND, data=()) -> StreamSink:
        """Pauses hold ready low; a valid-only stream (no ready) takes every beat."""
        sink = StreamSink(self.stream(name, valid=valid, ready=ready, data=data), self.period_ns, pauses)
        self.sinks.append(sink)
        return sink

    def add_monitor(self, name: str, *, valid=None, ready=FIND, data=()) -> StreamMonitor:
        """A passive monitor of a stream (the sink/source owning it checks the protocol). A stream
        this BFM's native source drives is monitored knowing no beat moves while it holds none."""
        source = next((s for s in self.sources if s.stream.name == name), None) if valid is None else None
        return StreamMonitor(self.stream(name, valid=valid, ready=ready, data=data), source)

    def tie_off(self, *names: str) -> None:
        """Drive inputs no stream owns to their idle level: 0, or 1 for an active-low name
        (`_n`, `_ni`, `_b`); Verilator starts them at random values otherwise."""
        for name in names:
            getattr(self.dut, name).value = 1 if name.endswith(("_n", "_ni", "_b")) else 0

    async def settle(self, outputs: list[str], idle: int = 20, window: int = 8) -> dict[str, int]:
        """Idle `idle` cycles, then watch `outputs` for `window` more: each must be 0/1 (no X/Z)
        and unchanged over the window. Returns their settled values; raises AssertionError
        naming every output that did not settle."""
        for _ in range(idle):
            await RisingEdge(self.clk)
        await ReadOnly()
        first = {name: getattr(self.dut, name).value for name in outputs}
        unsettled = {name: f"{value} (X/Z)" for name, value in first.items() if not value.is_resolvable}
        for _ in range(window):
            await RisingEdge(self.clk)
            await ReadOnly()
            for name in outputs:
                value = getattr(self.dut, name).value
                if name not in unsettled and value != first[name]:
                    unsettled[name] = f"changed {first[name]} -> {value} while idle"
        await RisingEdge(self.clk)
        if unsettled:
            raise AssertionError(
                f"{len(unsettled)} output(s) did not settle after reset and {idle} idle cycles: "
                + "; ".join(f"{name} {why}" for name, why in unsettled.items())
            )
        return {name: int(value) for name, value in first.items()}

    def protocol_boards(self) -> list[Scoreboard]:
        endpoints = (*self.sources, *self.sinks)
        for endpoint in endpoints:
            endpoint.checker.poll()
        return [s.checker.board for s in endpoints]

    async def reset(self) -> None:
        for stream in (*self.sources, *self.sinks):
            stream.checker.stop()
        for source in self.sources:
            source.clear()
        await clocking.reset(self.clk, getattr(self.dut, self.reset_spec.name), self.reset_spec, self.period_ns)
        for sink in self.sinks:
            sink.clear()
        for stream in (*self.sources, *self.sinks):
            stream.checker.start()
        for listener in self.reset_listeners:
            listener()
