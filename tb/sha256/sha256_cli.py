"""Service test behind `asicdv sha256`: hash the requested messages on the RTL."""

import cocotb

from asicdv import service
from tb.sha256.env import Sha256Bfm


@cocotb.test()
async def CliHash(dut):
    messages = [bytes.fromhex(m) for m in service.request()["messages"]]
    bfm = Sha256Bfm(dut)
    await bfm.reset()
    digests = [(await bfm.hash(message)).hex() for message in messages]
    service.respond({"digests": digests})
