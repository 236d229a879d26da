"""The RTL service behind `asicdv sha256d` (alias `mine`) and the bench: run one job on the miner.

Request: `request(job)`; response: {"hits": [{"nonce", "midstate"}], "cycles": cycles to done}.
"""

from asicdv.testbench.service import serve
from models import sha256d as model
from tb.sha256d.env import MinerBfm


def request(job: model.Job) -> dict:
    return {
        "midstates": [list(m) for m in job.midstates],
        "tail": job.tail.hex(),
        "nonce_start": job.nonce_start,
        "nonce_end": job.nonce_end,
        "target": f"{job.target:064x}",
    }


def job_from_request(request: dict) -> model.Job:
    return model.Job(
        midstates=tuple(tuple(m) for m in request["midstates"]),
        tail=bytes.fromhex(request["tail"]),
        nonce_start=request["nonce_start"],
        nonce_end=request["nonce_end"],
        target=int(request["target"], 16),
    )


async def answer(dut, request: dict) -> dict:
    bfm = MinerBfm(dut)
    await bfm.reset()
    cycles = await bfm.run_job(job_from_request(request))
    hits = []
    while (beat := bfm.hits.recv_nowait()) is not None:
        hits.append({"nonce": beat["nonce"], "midstate": beat["midstate_idx"]})
    return {"hits": hits, "cycles": cycles}


Service = serve(answer)
