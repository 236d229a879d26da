"""Overhead prototype (issue 11): the miner's service (tb/sha256d/service.py, what `asicdv mine`
runs) with cocotb's GPI clock (default) or with the clock generated in HDL (ASICDV_HDL_CLOCK=1, the
sha256d_miner_hdlclk top built with --timing). Same BFM, same reading of every hit; the runner
compares the hits with hashlib."""

import os

import cocotb

from asicdv import clocking, service

if os.environ.get("ASICDV_HDL_CLOCK") == "1":
    clocking.start_clock = lambda clk, period_ns=clocking.PERIOD_NS: None  # the HDL drives clk

from tb.sha256d.service import answer  # noqa: E402  (after the patch: its BFM must see it)


@cocotb.test()
async def ProtoMine(dut):
    service.respond(await answer(dut, service.request()))
