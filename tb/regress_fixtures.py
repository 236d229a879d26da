"""cocotb tests for tb/test_regress_sim.py: a hypothesis property with a planted bug.

Not collected by pytest (no test_ prefix); a regression entry runs it with
`module: tb.regress_fixtures` on the sha256 core's build, whose DUT it ignores.
"""

import cocotb
from cocotb.triggers import Timer
from hypothesis import strategies as st

from asicdv.testbench import properties as hypo

LIMIT = 900_000  # about one example in ten fails, rarely the first one


@cocotb.test()
async def PropertyFailsAboveLimit(dut):
    """Every integer >= LIMIT fails, so hypothesis shrinks any failure to exactly LIMIT."""

    async def drive(value: int) -> None:
        await Timer(1, unit="ns")
        assert value < LIMIT, f"value {value} is not below {LIMIT}"

    await hypo.check_property(st.integers(0, 10**6), drive, max_examples=100, name="below-limit")
