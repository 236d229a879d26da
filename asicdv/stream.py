"""Valid/ready streams, driven and sampled without waking Python every cycle.

Convention: the testbench writes signals only just after a rising clock edge,
and the DUT's outputs change only at rising edges. A transfer happens at a
rising edge where valid and ready were both high. We look at settled values
(ReadOnly) and otherwise sleep until valid or ready changes, so an idle or
busy DUT costs no Python wake-ups per cycle.

Modelled on cocotbext-axi: `send`/`recv`, `send_nowait`/`recv_nowait`, and
seeded pause generators for back-pressure.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import cocotb
from cocotb.triggers import Event, First, ReadOnly, RisingEdge, Timer, ValueChange

Pauses = Iterator[int]


def no_pauses() -> Pauses:
    return itertools.repeat(0)


def random_pauses(rng: random.Random, probability: float = 0.3, longest: int = 4) -> Pauses:
    """Idle cycles before each beat: 0 with 1-probability, else 1..longest."""
    while True:
        yield rng.randint(1, longest) if rng.random() < probability else 0


async def transfer(clk, valid, ready, sample: Callable[[], Any] | None = None) -> Any:
    """Wait for the next rising edge at which valid and ready are both high.

    Returns sample() evaluated on the settled values just before that edge,
    i.e. the data that moved. Returns after the edge.
    """
    while True:
        await ReadOnly()
        if valid.value == 1 and ready.value == 1:
            data = sample() if sample is not None else None
            await RisingEdge(clk)
            return data
        await First(ValueChange(valid), ValueChange(ready))


async def idle_cycles(clk, period_ns: float, cycles: int) -> None:
    """Let `cycles` clock periods pass with a single wake-up, ending just after an edge."""
    if cycles > 0:
        await Timer(period_ns * (cycles - 1) + period_ns / 2, "ns")
        await RisingEdge(clk)


class StreamSource:
    """Drives valid + data fields; `send` returns once the beat is transferred."""

    def __init__(self, clk, valid, ready, fields: dict[str, Any], period_ns: float, pauses: Pauses | None = None):
        self.clk, self.valid, self.ready, self.fields = clk, valid, ready, fields
        self.period_ns = period_ns
        self.pauses = pauses or no_pauses()
        self._queue: deque[dict[str, int]] = deque()
        self._wakeup = Event()
        self._idle = Event()
        self._idle.set()
        self.valid.value = 0
        self._task = cocotb.start_soon(self._run())

    def send_nowait(self, beat: dict[str, int]) -> None:
        self._queue.append(beat)
        self._idle.clear()
        self._wakeup.set()

    async def send(self, beat: dict[str, int]) -> None:
        self.send_nowait(beat)
        await self.wait_idle()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    def clear(self) -> None:
        """Drop queued and in-flight beats (e.g. on reset) and deassert valid."""
        self._task.cancel()
        self._queue.clear()
        self.valid.value = 0
        self._idle.set()
        self._task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self.valid.value = 0
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                await RisingEdge(self.clk)  # writes happen just after an edge
            pause = next(self.pauses)
            if pause:
                self.valid.value = 0
                await idle_cycles(self.clk, self.period_ns, pause)
            beat = self._queue[0]
            for name, value in beat.items():
                self.fields[name].value = value
            self.valid.value = 1
            await transfer(self.clk, self.valid, self.ready)
            if self._queue:
                self._queue.popleft()


class StreamSink:
    """Holds ready (with optional seeded pauses) and collects transferred beats."""

    def __init__(self, clk, valid, ready, fields: dict[str, Any], period_ns: float, pauses: Pauses | None = None):
        self.clk, self.valid, self.ready, self.fields = clk, valid, ready, fields
        self.period_ns = period_ns
        self.pauses = pauses or no_pauses()
        self._queue: deque[dict[str, int]] = deque()
        self._arrived = Event()
        self.ready.value = 0
        self._task = cocotb.start_soon(self._run())

    def _sample(self) -> dict[str, int]:
        return {name: int(handle.value) for name, handle in self.fields.items()}

    def recv_nowait(self) -> dict[str, int] | None:
        return self._queue.popleft() if self._queue else None

    async def recv(self) -> dict[str, int]:
        while not self._queue:
            self._arrived.clear()
            await self._arrived.wait()
        return self._queue.popleft()

    def empty(self) -> bool:
        return not self._queue

    def clear(self) -> None:
        """Drop received beats and restart (e.g. after a reset)."""
        self._task.cancel()
        self._queue.clear()
        self._task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        await RisingEdge(self.clk)
        while True:
            pause = next(self.pauses)
            if pause:
                self.ready.value = 0
                await idle_cycles(self.clk, self.period_ns, pause)
            self.ready.value = 1
            beat = await transfer(self.clk, self.valid, self.ready, self._sample)
            self._queue.append(beat)
            self._arrived.set()
