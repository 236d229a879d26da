"""The RTL service behind `asicdv sha256` and the bench: hash messages on the core.

Request: {"messages": [hex, ...]}; response: {"digests": [hex, ...], "cycles": int}.
Or {"blocks": [[chain hex (32 bytes), block hex (64 bytes)], ...]}: independent compressions
back to back (the bench's 1,000-block workload); response {"digests": [chain hex, ...], "cycles"}.
"""

from asicdv import clocking
from asicdv.service import serve
from models import sha256 as model
from tb.sha256.env import Sha256Bfm


def request(messages: list[bytes]) -> dict:
    return {"messages": [m.hex() for m in messages]}


async def answer(dut, request: dict) -> dict:
    bfm = Sha256Bfm(dut)
    await bfm.reset()
    start = clocking.cycles_now()
    if "blocks" in request:
        pairs = [(model.bytes_to_state(bytes.fromhex(c)), bytes.fromhex(b)) for c, b in request["blocks"]]
        digests = [model.state_to_bytes(d).hex() for d in await bfm.compress_all(pairs)]
    else:
        digests = [(await bfm.hash(bytes.fromhex(m))).hex() for m in request["messages"]]
    return {"digests": digests, "cycles": clocking.cycles_now() - start}


Service = serve(answer)
