"""Clock and reset shared by every block's testbench."""

from __future__ import annotations

from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, Timer

PERIOD_NS = 10.0


def start_clock(clk, period_ns: float = PERIOD_NS) -> Clock:
    """Start a free-running clock (cocotb's GPI clock: no Python work per edge)."""
    clock = Clock(clk, period_ns, unit="ns")
    clock.start()
    return clock


async def reset(clk, rst, cycles: int = 3, period_ns: float = PERIOD_NS) -> None:
    """Synchronous active-high reset for `cycles` edges; returns just after release."""
    await RisingEdge(clk)
    rst.value = 1
    await Timer(period_ns * (cycles - 1) + period_ns / 2, "ns")
    await RisingEdge(clk)
    rst.value = 0
