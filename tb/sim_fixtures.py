"""cocotb tests that misbehave on purpose, for tb/test_sim_framework.py."""

import os

import cocotb
from cocotb.triggers import Event

from asicdv import clocking


@cocotb.test()
async def Hangs(dut):
    clocking.start_clock(dut.clk)
    await Event().wait()  # never set: the clock runs on forever


@cocotb.test()
async def Crashes(dut):
    os.abort()


@cocotb.test()
async def FailsAnAssertion(dut):
    assert 0x1234 == 0x1235, "deliberate mismatch 0x1234 != 0x1235"
