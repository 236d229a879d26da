"""The RTL service behind `asicdv sha256` and the bench: hash messages on the core.

Request: {"messages": [hex, ...]}; response: {"digests": [hex, ...], "cycles": int}.
"""

from asicdv import clocking
from asicdv.service import serve
from tb.sha256.env import Sha256Bfm


def request(messages: list[bytes]) -> dict:
    return {"messages": [m.hex() for m in messages]}


async def answer(dut, request: dict) -> dict:
    bfm = Sha256Bfm(dut)
    await bfm.reset()
    start = clocking.cycles_now()
    digests = [(await bfm.hash(bytes.fromhex(m))).hex() for m in request["messages"]]
    return {"digests": digests, "cycles": clocking.cycles_now() - start}


Service = serve(answer)
