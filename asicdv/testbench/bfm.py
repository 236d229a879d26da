"""Base of every block's BFM: the clock, the declared reset, the streams it owns,
seeded pauses for back-pressure, and the protocol checkers of its streams."""

from __future__ import annotations

import random
from collections.abc import Callable

from cocotb.triggers import SimTimeoutError, with_timeout

from asicdv.testbench import clocking
from asicdv.testbench.scoreboard import Scoreboard
from asicdv.testbench.stream import Pauses, Stream, StreamMonitor, StreamSink, StreamSource, random_pauses


class Bfm:
    """Starts the DUT's clock and binds streams by signal prefix. `reset()` drops what the
    sources still hold, applies the block's declared reset (name, polarity, cycles from
    block.yaml), empties the sinks and tells the listeners (e.g. a monitor forgetting
    half-seen transactions). `stalls=True` makes `pauses()` random (seeded by `rng`)."""

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

    async def within(self, awaitable, cycles: int, what: str):
        """Await `awaitable` for at most `cycles` clock cycles: a broken DUT fails fast with
        "<what> did not happen within N cycles" instead of running until the wall-clock timeout."""
        try:
            return await with_timeout(awaitable, self.period_ns * cycles, "ns")
        except SimTimeoutError:
            raise AssertionError(
                f"{what} did not happen within {cycles} cycles (the transaction's cycle budget)"
            ) from None

    def pauses(self, probability: float = 0.3, longest: int = 4) -> Pauses | None:
        """Idle cycles before each beat: random when the test asked for stalls, else None (no
        pauses: the endpoint runs natively in the simulator where it can, see asicdv.testbench.stream)."""
        return random_pauses(self.rng, probability, longest) if self.stalls else None

    def stream(self, prefix: str) -> Stream:
        reset = getattr(self.dut, self.reset_spec.name)
        return Stream.from_prefix(self.dut, prefix, self.clk, reset, int(self.reset_spec.active_high))

    def add_source(self, prefix: str, pauses: Pauses | None = None, can_stall: bool = True) -> StreamSource:
        """`can_stall=False` for an input whose ready is constant 1 (no "stalled" coverage bin)."""
        source = StreamSource(self.stream(prefix), self.period_ns, pauses, can_stall)
        self.sources.append(source)
        return source

    def add_sink(self, prefix: str, pauses: Pauses | None = None) -> StreamSink:
        sink = StreamSink(self.stream(prefix), self.period_ns, pauses)
        self.sinks.append(sink)
        return sink

    def add_monitor(self, prefix: str) -> StreamMonitor:
        """A passive monitor of a stream (the sink/source owning it checks the protocol)."""
        return StreamMonitor(self.stream(prefix))

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
