"""Overhead prototype (issue 11): the CliMine job with cocotb's GPI clock (default) or with the
clock generated in HDL (ASICDV_HDL_CLOCK=1, the sha256d_miner_hdlclk top built with --timing).
Same BFM, same reading of every hit; the bench compares the hits with hashlib."""

import os

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge

from asicdv import clocking, service
from models import bitcoin

if os.environ.get("ASICDV_HDL_CLOCK") == "1":
    clocking.start_clock = lambda clk, period_ns=clocking.PERIOD_NS: None  # the HDL drives clk

from tb.sha256d.env import MinerBfm  # noqa: E402


@cocotb.test()
async def ProtoMine(dut):
    request = service.request()
    job = bitcoin.Job(
        midstates=tuple(tuple(m) for m in request["midstates"]), tail=bytes.fromhex(request["tail"]),
        nonce_start=request["nonce_start"], nonce_end=request["nonce_end"], target=int(request["target"], 16),
    )  # fmt: skip
    bfm = MinerBfm(dut)
    await bfm.reset()
    start = get_sim_time("ns")
    await bfm.load(job)
    await RisingEdge(dut.done)
    cycles = round((get_sim_time("ns") - start) / clocking.PERIOD_NS)
    await bfm.drain()
    hits = []
    while (beat := bfm.hits.recv_nowait()) is not None:
        hits.append({"nonce": beat["nonce"], "midstate": beat["midstate_index"]})
    service.respond({"hits": hits, "cycles": cycles})
