"""Service test behind `asicdv mine`: run one job on the RTL and return its hits."""

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge

from asicdv import clocking, service
from models import bitcoin
from tb.sha256d.env import MinerBfm


@cocotb.test()
async def CliMine(dut):
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
