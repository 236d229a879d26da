"""SHA-256d miner figures, both variants side by side: build time, cycles per nonce,
nonces per wall-second of simulation."""

from asicdv import bench, rtl
from asicdv.blocks import get_block
from models import bitcoin
from tb.sha256d.test_mine_cli import BLOCK_125552


def run(report) -> None:
    block = get_block("sha256d")
    job = bitcoin.job_from_header(bytes.fromhex(BLOCK_125552), 0, 0)
    for variant, count in (("iterative", 3_000), ("pipelined", 100_000)):
        report(f"{variant}: Verilator build, cold", bench.cold_build_seconds(block, variant), "s")
        request = {"midstates": [list(job.midstates[0])], "tail": job.tail.hex(),
                   "nonce_start": 2504433986 - count // 2, "nonce_end": 2504433986 - count // 2 + count - 1,
                   "target": f"{job.target:064x}"}  # fmt: skip
        response = rtl.ask("sha256d", "tb.sha256d.sha256d_cli", "CliMine", request, variant=variant)
        assert [h["nonce"] for h in response["hits"]] == [2504433986], response["hits"]
        report(f"{variant}: cycles per nonce ({count:,} nonces)", response["cycles"] / count, "cycles")
        report(f"{variant}: nonces per wall-second (incl. sim start)", count / response["wall_s"], "nonces/s")
