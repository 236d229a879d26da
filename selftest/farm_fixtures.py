"""cocotb tests for the farm tests (selftest/test_farm_slurm.py): runs that take a known wall time.

Run by a regression entry with `module: selftest.farm_fixtures` on the crc32 block's build, whose
DUT they leave alone.
"""

import time

import cocotb
from cocotb.triggers import Timer


@cocotb.test()
async def PassesQuickly(dut):
    await Timer(10, unit="ns")


@cocotb.test()
async def TakesAWhile(dut):
    """About 8 s of wall time: long enough to cancel its farm job in the middle."""
    for _ in range(40):
        time.sleep(0.2)
        await Timer(10, unit="ns")
