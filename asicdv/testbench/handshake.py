"""Handshakes real IP uses besides valid/ready, without waking Python every cycle.

- `pulse`: a one-cycle strobe (e.g. `init`, `next`, `start`), with its data fields.
- `wait_level`: wait until a level signal (e.g. `ready`, `digest_valid`) settles at a value.
- `StartDone`: a start pulse taken while `ready` is high, and a result whose level `valid`
  stays high until the next start (secworks-style init/next/ready/digest_valid cores).

Same convention as asicdv.testbench.stream: the testbench writes just after a rising edge.
"""

from __future__ import annotations

from cocotb.triggers import ReadOnly, RisingEdge, ValueChange


async def wait_level(clk, signal, value: int = 1) -> None:
    """Wait until `signal` is `value` on the settled values; returns just after the next edge."""
    await ReadOnly()
    while signal.value != value:
        await ValueChange(signal)
        await ReadOnly()
    await RisingEdge(clk)


async def pulse(clk, strobe, fields: dict | None = None) -> None:
    """Drive `fields` and raise `strobe` for exactly one edge (call just after an edge)."""
    for handle, value in (fields or {}).items():
        handle.value = value
    strobe.value = 1
    await RisingEdge(clk)
    strobe.value = 0


class StartDone:
    """A core that takes a start pulse while `ready` and signals its result with a level `valid`."""

    def __init__(self, clk, ready, valid):
        self.clk, self.ready, self.valid = clk, ready, valid

    async def start(self, strobe, fields: dict | None = None) -> None:
        """Wait for `ready`, then pulse `strobe` with `fields`."""
        await wait_level(self.clk, self.ready, 1)
        await pulse(self.clk, strobe, fields)

    async def result(self, fields: dict) -> dict[str, int]:
        """Wait for `valid`, then sample `fields` (name -> handle)."""
        await ReadOnly()
        while self.valid.value != 1:
            await ValueChange(self.valid)
            await ReadOnly()
        values = {name: int(handle.value) for name, handle in fields.items()}
        await RisingEdge(self.clk)
        return values
