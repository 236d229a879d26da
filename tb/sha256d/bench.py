"""SHA-256d miner figures, both variants side by side: build time, cycles per nonce,
nonces per wall-second of simulation."""

from asicdv import bench, rtl
from asicdv.blocks import get_block
from models import sha256d as model
from tb.sha256d import service

# Block 125552, the worked example of the Bitcoin wiki's "Block hashing algorithm" page.
BLOCK_125552 = (
    "0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1eb942ae"
    "710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695"
)
NONCE_125552 = 2504433986


def run(report) -> None:
    block = get_block("sha256d")
    job = model.job_from_header(bytes.fromhex(BLOCK_125552), 0, 0)
    for variant, count in (("iterative", 3_000), ("pipelined", 100_000)):
        report(f"{variant}: Verilator build, cold", bench.cold_build_seconds(block, variant), "s")
        start = NONCE_125552 - count // 2
        window = model.Job(job.midstates, job.tail, start, start + count - 1, job.target)
        response = rtl.ask("sha256d", service.request(window), variant=variant)
        assert [h["nonce"] for h in response["hits"]] == [NONCE_125552], response["hits"]
        report(f"{variant}: cycles per nonce ({count:,} nonces)", response["cycles"] / count, "cycles")
        report(f"{variant}: nonces per wall-second (incl. sim start)", count / response["wall_s"], "nonces/s")
