"""Clock, reset and cycle counting shared by every block's testbench.

A block declares its clock and reset in `block.yaml` (`clock: clk`, `reset: {name: rst_n,
active: low, cycles: 3}`); `sim.run` hands them to the simulation as ASICDV_CLOCK and
ASICDV_RESET, and `Bfm` (asicdv.testbench.bfm) uses them. Defaults: `clk`, synchronous active-high
`rst` held for 3 edges.
"""

from __future__ import annotations

import os

from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge, Timer

from asicdv.testbench import native
from asicdv.testbench.reset_spec import ResetSpec  # noqa: F401 (clocking.ResetSpec, as testbenches use it)

PERIOD_NS = 10.0


def clock_name() -> str:
    return os.environ.get("ASICDV_CLOCK", "clk")


def start_clock(clk, period_ns: float = PERIOD_NS) -> Clock | None:
    """Start a free-running clock: toggled by asicdv's Verilator main loop (asicdv.testbench.native), else
    cocotb's GPI clock (Icarus, ASICDV_NATIVE=0). Neither wakes Python per edge."""
    if native.start_clock(clk, period_ns):
        return None
    clock = Clock(clk, period_ns, unit="ns")
    clock.start()
    return clock


async def reset(clk, rst, spec: ResetSpec | None = None, period_ns: float = PERIOD_NS) -> None:
    """Assert the reset for `spec.cycles` edges (default ResetSpec()); returns just after release."""
    spec = spec or ResetSpec()
    active, inactive = (1, 0) if spec.active_high else (0, 1)
    await RisingEdge(clk)
    rst.value = active
    await Timer(period_ns * (spec.cycles - 1) + period_ns / 2, "ns")
    await RisingEdge(clk)
    rst.value = inactive


def cycles_now(period_ns: float = PERIOD_NS) -> int:
    """The one cycle counter: simulated time in clock periods."""
    return round(get_sim_time("ns") / period_ns)
