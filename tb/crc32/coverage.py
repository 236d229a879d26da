"""CRC-32 unit functional coverage, declared up front (sampled by MessageCoverage in env.py)."""

from asicdv.testbench.functional_coverage import CoverPoint


@CoverPoint(
    "crc32.message.length",
    xf=lambda m: "empty" if not m else "1..4" if len(m) <= 4 else "5+",
    bins=["empty", "1..4", "5+"],
)
@CoverPoint("crc32.message.last_word_bytes", xf=lambda m: (len(m) - 1) % 4 + 1 if m else None, bins=[1, 2, 3, 4])
def sample_message(message: bytes) -> None:
    pass
