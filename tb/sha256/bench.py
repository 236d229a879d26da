"""SHA-256 core figures: build time, test time, hypothesis examples/s through the DUT."""

from asicdv import DATA, bench
from asicdv.blocks import get_block
from models import sha256 as model


def run(report) -> None:
    block = get_block("sha256")
    report("Verilator build, cold (s)", bench.cold_build_seconds(block), "s")
    long_msg = bench.timed_run(block, "NistLongMsgTest")
    vectors = model.parse_cavp((DATA / "nist" / "SHA256LongMsg.rsp").read_text())
    blocks = sum(len(model.blocks(v.message)) for v in vectors)
    report("NistLongMsgTest wall time (s)", long_msg.wall_s, "s")
    report("  simulated cycles per wall-second", long_msg.sim_time_ns / 10 / long_msg.wall_s, "cycles/s")
    report("  blocks per wall-second", blocks / long_msg.wall_s, "blocks/s")
    prop = bench.timed_run(block, "RandomMessagesTest")
    report("hypothesis examples/s through the DUT (0..200 B)", bench.examples_per_second(prop.log), "ex/s")
