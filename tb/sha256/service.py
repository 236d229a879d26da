"""The RTL service behind `asicdv sha256` and the bench: hash messages on the core.

Request: {"messages": [hex, ...]}; response: {"digests": [hex, ...], "cycles": int}.
Or {"blocks": [[chain hex (32 bytes), block hex (64 bytes)], ...]}: independent compressions
back to back (the bench's 1,000-block workload); response {"digests": [chain hex, ...], "cycles"}.
"""

from asicdv.testbench import clocking
from asicdv.testbench.service import serve
from tb.sha256.env import Sha256Bfm


def request(messages: list[bytes]) -> dict:
    return {"messages": [m.hex() for m in messages]}


async def answer(dut, request: dict) -> dict:
    bfm = Sha256Bfm(dut)
    await bfm.reset()
    start = clocking.cycles_now()
    if "blocks" in request:  # hex of big-endian bytes: the port values themselves
        chains, blocks = [int(c, 16) for c, _ in request["blocks"]], [int(b, 16) for _, b in request["blocks"]]
        digests = [f"{d:064x}" for d in await bfm.compress_all(chains, blocks)]
    else:
        digests = [(await bfm.hash(bytes.fromhex(m))).hex() for m in request["messages"]]
    return {"digests": digests, "cycles": clocking.cycles_now() - start}


Service = serve(answer)
