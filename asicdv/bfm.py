"""Base of every block's BFM: the clock, the reset, and the streams it owns."""

from __future__ import annotations

from collections.abc import Callable

from asicdv import clocking
from asicdv.stream import StreamSink, StreamSource


class Bfm:
    """Starts the DUT's clock; `reset()` drops what the sources still hold, resets the DUT
    (`clk`, `rst`: synchronous, active high), empties the sinks and tells the listeners
    (e.g. a monitor forgetting half-seen transactions)."""

    def __init__(self, dut):
        self.dut = dut
        clocking.start_clock(dut.clk)
        self.reset_listeners: list[Callable[[], None]] = []

    def _streams(self, kind: type) -> list:
        return [value for value in vars(self).values() if isinstance(value, kind)]

    async def reset(self) -> None:
        for source in self._streams(StreamSource):
            source.clear()
        await clocking.reset(self.dut.clk, self.dut.rst)
        for sink in self._streams(StreamSink):
            sink.clear()
        for listener in self.reset_listeners:
            listener()
