"""SHA-256 core functional coverage, declared up front (sampled by MessageCoverage and the block monitor in env.py)."""

from asicdv.testbench.functional_coverage import CoverPoint
from models import sha256 as model

LENGTHS = ["0", "1..54", "55", "56", "57..62", "63", "64", "65..118", "119", "120", "121..247", "248+"]


def length_bin(n: int) -> str:
    for label in LENGTHS:
        lo, _, hi = label.rstrip("+").partition("..")
        if (label.endswith("+") and n >= int(lo)) or int(lo) <= n <= int(hi or lo):
            return label
    raise ValueError(n)


@CoverPoint("sha256.message.length", xf=lambda m: length_bin(len(m)), bins=LENGTHS)
@CoverPoint(
    "sha256.message.blocks",
    xf=lambda m: min(len(model.blocks(m)), 5),
    bins=[1, 2, 3, 4, 5],
    bins_labels=["1", "2", "3", "4", "5+"],
)
def sample_message(message: bytes) -> None:
    pass


@CoverPoint(
    "sha256.stream.back_to_back", xf=lambda gap: gap == 0, bins=[True], bins_labels=["accepted as the digest left"]
)
def sample_accept(gap: int) -> None:
    """gap: cycles between the previous digest leaving and this block's accept."""
