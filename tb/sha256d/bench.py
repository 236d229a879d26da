"""SHA-256d miner figures of its own for `make bench` (the side-by-side workloads are in
asicdv/tools/bench.py): cycles per nonce on a real target, where the early reject drops almost every
nonce, through the service (the CLI's path), exact hit list checked."""

from asicdv.tools import service_client as rtl
from models import sha256d as model
from tb.sha256d import service

# Block 125552, the worked example of the Bitcoin wiki's "Block hashing algorithm" page.
BLOCK_125552 = (
    "0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1eb942ae"
    "710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695"
)
NONCE_125552 = 2504433986


def run(report) -> None:
    count = 2_000
    start = NONCE_125552 - count // 2
    job = model.job_from_header(bytes.fromhex(BLOCK_125552), start, start + count - 1)  # its real nbits target
    for variant in ("iterative", "pipelined"):
        response = rtl.ask("sha256d", service.request(job), variant=variant)
        hits = [(h["midstate"], h["nonce"]) for h in response["hits"]]
        assert hits == [(h.midstate_index, h.nonce) for h in model.search(job)] == [(0, NONCE_125552)], hits
        report(f"{variant}: cycles per nonce, real target ({count:,} nonces)", response["cycles"] / count, "cycles")
